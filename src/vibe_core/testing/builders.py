"""Event and value builders for tests: one-liners with sensible defaults, every field overridable.

State: none: pure functions and :data:`T0`.
Consumes: keyword overrides of each field.
Emits: checked events and values (``Bar``, ``Trade``, ``Order``, ``Fill``, ``Filled``).
Invariants: every value is built through its checked constructor; with no overrides the same
call gives the same value.

Pure and deterministic. Whole market days belong to :mod:`vibe_core.testing.market`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vibe_core.events import Bar, Filled, Trade
from vibe_core.models import Fill, Order
from vibe_core.types import OrderType, Side, Timeframe

__all__ = ["T0", "bar", "bars_from_ohlcv", "bars_from_closes", "trade", "order", "fill", "filled"]

T0 = 1_710_509_400 * 1_000_000_000  #: 2024-03-15 09:30 New York (13:30 UTC), a regular session open


def bar(
    *,
    symbol: str = "AAPL",
    timeframe: Timeframe = Timeframe.M5,
    ts: int = T0,
    open: float = 100.0,
    high: float | None = None,
    low: float | None = None,
    close: float | None = None,
    volume: float = 1_000.0,
    source: str = "test",
) -> Bar:
    """A bar; ``close`` defaults to ``open`` and ``high``/``low`` to the extremes of open and close."""
    c = open if close is None else close
    return Bar(
        symbol=symbol,
        timeframe=timeframe,
        ts=ts,
        open=open,
        high=max(open, c) if high is None else high,
        low=min(open, c) if low is None else low,
        close=c,
        volume=volume,
        source=source,
    )


def bars_from_ohlcv(
    rows: Iterable[Sequence[float]],
    *,
    symbol: str = "AAPL",
    timeframe: Timeframe = Timeframe.M5,
    start: int = T0,
    source: str = "test",
) -> list[Bar]:
    """Consecutive bars from ``(open, high, low, close, volume)`` rows, one timeframe apart."""
    return [
        Bar(
            symbol=symbol,
            timeframe=timeframe,
            ts=start + i * timeframe.ns,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            source=source,
        )
        for i, (o, h, lo, c, v) in enumerate(rows)
    ]


def bars_from_closes(
    closes: Iterable[float],
    *,
    symbol: str = "AAPL",
    timeframe: Timeframe = Timeframe.M5,
    start: int = T0,
    volume: float = 1_000.0,
) -> list[Bar]:
    """Flat bars (open = high = low = close) from a close series; handy for close-only indicators."""
    return bars_from_ohlcv(
        ((c, c, c, c, volume) for c in closes), symbol=symbol, timeframe=timeframe, start=start
    )


def trade(*, symbol: str = "AAPL", ts: int = T0, price: float = 100.0, size: float = 100.0) -> Trade:
    return Trade(symbol=symbol, ts=ts, price=price, size=size)


def order(
    *,
    id: str = "AAPL-20240315-1",
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    qty: int = 10,
    type: OrderType = OrderType.MARKET,
    ts: int = T0,
    limit_price: float | None = None,
    stop_price: float | None = None,
    tag: str = "",
) -> Order:
    return Order(
        id=id,
        symbol=symbol,
        side=side,
        qty=qty,
        type=type,
        ts=ts,
        limit_price=limit_price,
        stop_price=stop_price,
        tag=tag,
    )


def fill(
    *,
    order_id: str = "AAPL-20240315-1",
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    qty: int = 10,
    price: float = 100.0,
    ref_price: float | None = None,
    fee: float = 0.0,
    ts: int = T0,
    tag: str = "",
) -> Fill:
    return Fill(
        order_id=order_id,
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        ref_price=price if ref_price is None else ref_price,
        fee=fee,
        ts=ts,
        tag=tag,
    )


def filled(f: Fill | None = None) -> Filled:
    """A ``Filled`` event carrying ``f`` (default: :func:`fill` with its defaults), stamped at the fill."""
    f = fill() if f is None else f
    return Filled(ts=f.ts, fill=f)
