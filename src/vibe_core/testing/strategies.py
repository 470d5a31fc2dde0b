"""Hypothesis strategies for every core value type, event and action.

Values are plausible (finite floats, cent-scale prices, ns timestamps in this century, bars with
low <= open/close <= high, orders whose prices match their type) so the same strategies serve codec
round trips and behavioural properties. Import this module explicitly (it needs hypothesis).
"""

from __future__ import annotations

import string
from typing import Any

import attrs
from hypothesis import strategies as st

from vibe_core.actions import (
    Action,
    CancelOrder,
    EventRejected,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.config import (
    PRESETS,
    Config,
    ExchangeConfig,
    RiskConfig,
    StrategyConfig,
    ValidationConfig,
)
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.indicators import KINDS, IndicatorSpec
from vibe_core.models import AccountView, Fill, Order, PositionView, Signal, TradeRecord
from vibe_core.strategy.orb import OrbConfig
from vibe_core.types import (
    NS_PER_SECOND,
    ExitReason,
    OrderType,
    Severity,
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
    "trades",
    "bars",
    "clocks",
    "order_accepted",
    "order_rejected",
    "filled",
    "order_cancelled",
    "pauses",
    "resumes",
    "close_alls",
    "market_events",
    "events",
    "submit_orders",
    "cancel_orders",
    "notifies",
    "trade_closed",
    "signal_evaluated",
    "risk_halted",
    "actions",
    "indicator_specs",
    "strategy_configs",
    "validation_configs",
    "risk_configs",
    "exchange_configs",
    "configs",
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


# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------


@st.composite
def trades(draw: st.DrawFn, symbol: str | None = None) -> Trade:
    ts = draw(timestamps())
    return Trade(
        symbol=symbol if symbol is not None else draw(symbols()),
        ts=ts,
        price=draw(prices()),
        size=draw(st.floats(min_value=1.0, max_value=1e6, allow_nan=False)),
        ts_recv=draw(_ts_recv(ts)),
    )


@st.composite
def bars(
    draw: st.DrawFn,
    symbol: str | None = None,
    timeframe: Timeframe | None = None,
    *,
    cents: bool = False,
) -> Bar:
    """Consistent bars: ``low <= open, close <= high``, non-negative volume, stamped on the timeframe grid."""
    tf = timeframe if timeframe is not None else draw(timeframes())
    a, b = draw(prices(cents=cents)), draw(prices(cents=cents))
    low, high = min(a, b), max(a, b)
    inside = st.floats(min_value=low, max_value=high, allow_nan=False)
    if cents:
        inside = inside.map(lambda p: min(max(round(p, 2), low), high))
    ts = draw(timestamps()) // tf.ns * tf.ns
    return Bar(
        symbol=symbol if symbol is not None else draw(symbols()),
        timeframe=tf,
        ts=ts,
        open=draw(inside),
        high=high,
        low=low,
        close=draw(inside),
        volume=draw(volumes()),
        source=draw(st.sampled_from(("", "yahoo", "finnhub", "self", "test"))),
        ts_recv=draw(_ts_recv(ts + tf.ns)),
    )


@st.composite
def bar_slices(draw: st.DrawFn) -> BarSlice:
    """A few bars (any symbols) moved to one open time."""
    parts = draw(st.lists(bars(timeframe=Timeframe.M5), max_size=5))
    ts = draw(timestamps()) // Timeframe.M5.ns * Timeframe.M5.ns
    return BarSlice(ts=ts, bars=tuple(attrs.evolve(b, ts=ts) for b in parts), ts_recv=draw(_ts_recv(ts)))


# (every event may carry ts_recv: drawn for each, None or a little after ts)


@st.composite
def clocks(draw: st.DrawFn) -> Clock:
    ts = draw(timestamps())
    return Clock(ts=ts, ts_recv=draw(_ts_recv(ts)))


@st.composite
def order_accepted(draw: st.DrawFn) -> OrderAccepted:
    order = draw(st.none() | orders())
    order_id = order.id if order is not None else draw(order_ids())
    ts = draw(timestamps())
    return OrderAccepted(ts=ts, order_id=order_id, order=order, ts_recv=draw(_ts_recv(ts)))


@st.composite
def order_rejected(draw: st.DrawFn) -> OrderRejected:
    sym = draw(symbols())
    ts = draw(timestamps())
    return OrderRejected(
        ts=ts, order_id=draw(order_ids(sym)), symbol=sym, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts))
    )


@st.composite
def filled(draw: st.DrawFn) -> Filled:
    fill = draw(fills())
    return Filled(ts=fill.ts, fill=fill, ts_recv=draw(_ts_recv(fill.ts)))


@st.composite
def order_cancelled(draw: st.DrawFn) -> OrderCancelled:
    ts = draw(timestamps())
    return OrderCancelled(
        ts=ts, order_id=draw(order_ids()), reason=draw(reasons()), ts_recv=draw(_ts_recv(ts))
    )


@st.composite
def pauses(draw: st.DrawFn) -> Pause:
    ts = draw(timestamps())
    return Pause(ts=ts, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts)))


@st.composite
def resumes(draw: st.DrawFn) -> Resume:
    ts = draw(timestamps())
    return Resume(ts=ts, ts_recv=draw(_ts_recv(ts)))


@st.composite
def close_alls(draw: st.DrawFn) -> CloseAll:
    ts = draw(timestamps())
    return CloseAll(ts=ts, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts)))


def market_events() -> st.SearchStrategy[Trade | Bar]:
    return st.one_of(trades(), bars())


def events() -> st.SearchStrategy[Event]:
    """Any event of the closed union."""
    return st.one_of(
        trades(),
        bars(),
        bar_slices(),
        clocks(),
        order_accepted(),
        order_rejected(),
        filled(),
        order_cancelled(),
        pauses(),
        resumes(),
        close_alls(),
    )


# ---------------------------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------------------------


def submit_orders() -> st.SearchStrategy[SubmitOrder]:
    return st.builds(SubmitOrder, order=orders())


def cancel_orders() -> st.SearchStrategy[CancelOrder]:
    return st.builds(CancelOrder, ts=timestamps(), order_id=order_ids(), reason=reasons())


def notifies() -> st.SearchStrategy[Notify]:
    field = st.tuples(st.text(max_size=12), st.text(max_size=24))
    return st.builds(
        Notify,
        ts=timestamps(),
        severity=st.sampled_from(Severity),
        title=st.text(max_size=40),
        fields=st.lists(field, max_size=4).map(tuple),
    )


def trade_closed() -> st.SearchStrategy[TradeClosed]:
    return st.builds(TradeClosed, trade=trade_records())


@st.composite
def signal_evaluated(draw: st.DrawFn) -> SignalEvaluated:
    accepted = draw(st.booleans())
    return SignalEvaluated(
        signal=draw(signals()),
        accepted=accepted,
        qty=draw(quantities()) if accepted else 0,
        reasons=tuple(draw(st.lists(reasons(), max_size=3))),
    )


@st.composite
def risk_halted(draw: st.DrawFn) -> RiskHalted:
    start = draw(prices(100.0, 1e7))
    return RiskHalted(
        ts=draw(timestamps()),
        reason=draw(reasons()),
        session_start_equity=start,
        equity=draw(st.floats(min_value=0.0, max_value=start, allow_nan=False)),
    )


def event_rejected() -> st.SearchStrategy[EventRejected]:
    return st.builds(EventRejected, ts=timestamps(), event=events(), reason=reasons(), detail=reasons())


def actions() -> st.SearchStrategy[Action]:
    """Any action of the closed union."""
    return st.one_of(
        submit_orders(),
        cancel_orders(),
        notifies(),
        trade_closed(),
        signal_evaluated(),
        risk_halted(),
        event_rejected(),
        order_accepted(),
        order_rejected(),
        filled(),
        order_cancelled(),
    )


# ---------------------------------------------------------------------------------------------
# indicator specs and configuration
# ---------------------------------------------------------------------------------------------


@st.composite
def indicator_specs(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> IndicatorSpec:
    kind = draw(st.sampled_from(kinds))
    period = None if kind == "vwap" else draw(st.integers(min_value=2, max_value=50))
    return IndicatorSpec(
        kind=kind,
        period=period,
        timeframe=draw(timeframes()),
        field=draw(st.sampled_from(("close", "volume"))) if kind in ("ema", "sma", "rsi") else "close",
    )


def _fraction() -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _positive(limit: float = 100.0) -> st.SearchStrategy[float]:
    return st.floats(min_value=1e-6, max_value=limit, allow_nan=False)


def _hhmm() -> st.SearchStrategy[str]:
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


def strategy_configs() -> st.SearchStrategy[StrategyConfig]:
    return st.builds(
        OrbConfig,
        opening_range_minutes=st.integers(1, 120),
        last_entry_time=_hhmm(),
        flatten_minutes_before_close=st.integers(0, 60),
        reward_risk=_positive(10.0),
        max_trades_per_day=st.integers(0, 10),
        allow_short=st.booleans(),
        stop_type=st.sampled_from(("range", "atr", "percent")),
        atr_period=st.integers(1, 50),
        atr_multiplier=_positive(10.0),
        stop_percent=_positive(0.5),
    )


def validation_configs() -> st.SearchStrategy[ValidationConfig]:
    return st.builds(
        ValidationConfig.of,
        enabled=st.booleans(),
        trend=st.booleans(),
        volume=st.booleans(),
        support_resistance=st.booleans(),
        ema_period=st.integers(1, 200),
        volume_multiplier=st.floats(0.0, 10.0, allow_nan=False),
        volume_sma_period=st.integers(1, 200),
        sr_atr_multiple=st.floats(0.0, 10.0, allow_nan=False),
        sr_atr_period=st.integers(1, 50),
        sr_atr_timeframe=st.sampled_from(["5m", "15m", "1h"]),
        swing_strength=st.integers(1, 10),
        swing_lookback_bars=st.integers(1, 500),
    )


def risk_configs() -> st.SearchStrategy[RiskConfig]:
    return st.builds(
        RiskConfig,
        risk_per_trade_pct=_fraction(),
        max_position_pct=_positive(5.0),
        max_open_positions=st.integers(0, 50),
        max_gross_exposure_pct=_positive(5.0),
        daily_loss_halt_pct=_fraction(),
        flatten_on_halt=st.booleans(),
        allow_margin=st.booleans(),
    )


@st.composite
def exchange_configs(draw: st.DrawFn) -> ExchangeConfig:
    """A preset with some keys overridden (``None`` = keep the preset's), delays ordered."""

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    delay_min = maybe(st.integers(0, 5_000))
    delay_max = None if delay_min is None else draw(st.none() | st.integers(delay_min, 10_000))
    return ExchangeConfig(
        preset=draw(st.sampled_from(tuple(PRESETS))),
        slippage_base_pct=maybe(st.floats(0.0, 0.01, allow_nan=False)),
        slippage_volatility=maybe(st.floats(0.0, 1.0, allow_nan=False)),
        slippage_size=maybe(st.floats(0.0, 1.0, allow_nan=False)),
        partial_fills=maybe(st.booleans()),
        partial_probability=maybe(_fraction()),
        max_participation=maybe(_fraction()),
        fill_delay_ms_min=delay_min,
        fill_delay_ms_max=delay_max,
        fee_per_share=maybe(st.floats(0.0, 0.1, allow_nan=False)),
        fee_min=maybe(st.floats(0.0, 10.0, allow_nan=False)),
    )


def configs() -> st.SearchStrategy[Config]:
    """Valid configurations (every validator passes)."""
    return st.builds(
        Config,
        symbols=st.lists(st.text(string.ascii_uppercase, min_size=1, max_size=5), min_size=1, max_size=6).map(
            tuple
        ),
        initial_capital=_positive(1e8),
        seed=st.integers(0, 2**63 - 1),
        indicator_window=st.integers(1, 100_000),
        strategy=strategy_configs(),
        validation=validation_configs(),
        risk=risk_configs(),
        exchange=exchange_configs(),
    )
