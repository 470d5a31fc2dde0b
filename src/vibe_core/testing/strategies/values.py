"""Hypothesis strategies for scalars (symbols, times, prices, sizes) and the model values.

State: none: functions returning hypothesis strategies.
Consumes: hypothesis draws.
Emits: plausible values: finite floats, cent-scale prices, ns timestamps in this century, orders
whose prices match their type, signals, fills, trade records, position and account views.
Invariants: every value drawn passes its class's own field checks.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from vibe_core.models import AccountView, Fill, Order, PositionView, Signal, TradeRecord
from vibe_core.types import (
    NS_PER_SECOND,
    ExitReason,
    OrderType,
    Side,
    Timeframe,
    TimeInForce,
)

__all__ = [
    "TS_MIN",
    "TS_MAX",
    "symbols",
    "timestamps",
    "prices",
    "money",
    "quantities",
    "volumes",
    "timeframes",
    "reasons",
    "order_ids",
    "orders",
    "fills",
    "signals",
    "trade_records",
    "position_views",
    "account_views",
]

TS_MIN = 946_684_800 * NS_PER_SECOND  #: 2000-01-01 UTC
TS_MAX = 4_102_444_800 * NS_PER_SECOND  #: 2100-01-01 UTC

# ---------------------------------------------------------------------------------------------
# scalars
# ---------------------------------------------------------------------------------------------


def symbols() -> st.SearchStrategy[str]:
    """Ticker-like symbols: mostly the MVP names, sometimes any 1-5 capitals."""
    return st.one_of(
        st.sampled_from(("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")),
        st.text(string.ascii_uppercase, min_size=1, max_size=5),
    )


def timestamps(min_value: int = TS_MIN, max_value: int = TS_MAX) -> st.SearchStrategy[int]:
    """ns UTC timestamps."""
    return st.integers(min_value=min_value, max_value=max_value)


def prices(
    min_value: float = 0.01, max_value: float = 10_000.0, *, cents: bool = False
) -> st.SearchStrategy[float]:
    """Finite positive prices; ``cents=True`` rounds them to the cent."""
    base = st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False)
    if cents:
        return base.map(lambda p: max(round(p, 2), round(min_value, 2)))
    return base


def money(limit: float = 1e9) -> st.SearchStrategy[float]:
    """Finite signed amounts (PnL, cash)."""
    return st.floats(min_value=-limit, max_value=limit, allow_nan=False, allow_infinity=False)


def _non_negative(limit: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=limit, allow_nan=False, allow_infinity=False)


def quantities(max_value: int = 100_000) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=max_value)


def volumes(max_value: float = 1e8) -> st.SearchStrategy[float]:
    return _non_negative(max_value)


def timeframes() -> st.SearchStrategy[Timeframe]:
    return st.sampled_from(Timeframe)


def reasons() -> st.SearchStrategy[str]:
    return st.text(min_size=0, max_size=40)


def _ts_recv(ts: int) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(min_value=ts, max_value=ts + 5 * NS_PER_SECOND))


@st.composite
def order_ids(draw: st.DrawFn, symbol: str | None = None) -> str:
    """Deterministic-style ids: ``AAPL-20240315-3``."""
    sym = symbol if symbol is not None else draw(symbols())
    day = draw(st.dates()).strftime("%Y%m%d")
    return f"{sym}-{day}-{draw(st.integers(min_value=1, max_value=999))}"


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


@st.composite
def orders(draw: st.DrawFn, symbol: str | None = None) -> Order:
    """Orders whose prices fit their type (a limit has a limit price, a stop a stop price)."""
    sym = symbol if symbol is not None else draw(symbols())
    kind = draw(st.sampled_from(OrderType))
    limit = draw(prices(cents=True)) if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    stop = draw(prices(cents=True)) if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
    return Order(
        id=draw(order_ids(sym)),
        symbol=sym,
        side=draw(st.sampled_from(Side)),
        qty=draw(quantities()),
        type=kind,
        ts=draw(timestamps()),
        limit_price=limit,
        stop_price=stop,
        tif=draw(st.sampled_from(TimeInForce)),
        stop_loss=draw(st.none() | prices(cents=True)),
        take_profit=draw(st.none() | prices(cents=True)),
        parent_id=draw(st.none() | order_ids(sym)),
        tag=draw(st.sampled_from(("", "entry", "stop", "target", "flatten"))),
        max_notional=draw(st.none() | prices(1.0, 1e7)),
    )


@st.composite
def fills(draw: st.DrawFn, symbol: str | None = None) -> Fill:
    sym = symbol if symbol is not None else draw(symbols())
    ref = draw(prices())
    return Fill(
        order_id=draw(order_ids(sym)),
        symbol=sym,
        side=draw(st.sampled_from(Side)),
        qty=draw(quantities()),
        price=draw(prices()),
        ref_price=ref,
        fee=draw(_non_negative(100.0)),
        ts=draw(timestamps()),
        tag=draw(st.sampled_from(("", "entry", "stop", "target", "flatten"))),
    )


@st.composite
def signals(draw: st.DrawFn) -> Signal:
    """Signals with the stop on the losing side and the target on the winning side."""
    side = draw(st.sampled_from(Side))
    price = draw(prices(1.0, 5_000.0))
    risk = draw(st.floats(min_value=0.01, max_value=price / 3, allow_nan=False))  # (target stays > 0)
    stop = price - side.sign * risk
    target = price + side.sign * 2 * risk
    has_range = draw(st.booleans())
    return Signal(
        symbol=draw(symbols()),
        ts=draw(timestamps()),
        side=side,
        price=price,
        stop=stop,
        target=target,
        strategy=draw(st.sampled_from(("orb", "test"))),
        range_high=max(price, stop) if has_range else None,
        range_low=min(price, stop) if has_range else None,
    )


@st.composite
def trade_records(draw: st.DrawFn) -> TradeRecord:
    entry_time = draw(timestamps())
    return TradeRecord(
        symbol=draw(symbols()),
        side=draw(st.sampled_from(Side)),
        qty=draw(quantities()),
        entry_time=entry_time,
        entry_price=draw(prices()),
        exit_time=draw(timestamps(min_value=entry_time)),
        exit_price=draw(prices()),
        pnl=draw(money()),
        fees=draw(_non_negative(1_000.0)),
        exit_reason=draw(st.sampled_from(ExitReason)),
    )


@st.composite
def position_views(draw: st.DrawFn) -> PositionView:
    return PositionView(
        symbol=draw(symbols()),
        qty=draw(st.integers(min_value=-100_000, max_value=100_000).filter(bool)),  # (flat: no position)
        avg_price=draw(prices()),
        last_price=draw(prices()),
        unrealized_pnl=draw(money()),
        realized_pnl=draw(money()),
    )


@st.composite
def account_views(draw: st.DrawFn) -> AccountView:
    return AccountView(
        ts=draw(timestamps()),
        cash=draw(money()),
        equity=draw(money()),
        realized_pnl=draw(money()),
        unrealized_pnl=draw(money()),
        gross_exposure=draw(_non_negative(1e9)),
    )
