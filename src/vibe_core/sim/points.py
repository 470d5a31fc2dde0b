"""The price path the venue matches against: a bar becomes four points, a print is one.

State: none: pure functions and the :class:`Point` tuple.
Consumes: a ``Bar`` or a ``Trade``.
Emits: four points per bar (:func:`bar_points`), one per print (:func:`trade_point`).
Invariants: a bar's points are in time order inside the bar, the first a jump and the rest
continuous, each offering a quarter of its volume; a non-finite or non-positive price raises
``ValueError`` naming the symbol and time.

A bar becomes O, the extreme nearer to O, the other extreme, C (when O is equally near both, the
high comes first), stamped inside the bar at ``tf x k / 300`` for ``k`` in 0, 100, 200, 299 (a 5m
bar: +0 s, +100 s, +200 s, +299 s). Each point offers a quarter of the bar's volume. The open is a
*jump* from whatever came before; the other three are reached *continuously* from the previous
point, so a level crossed on the way fills at that level. A print is a jump offering its size.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from vibe_core.events import Bar, Trade
from vibe_core.types import Timeframe

__all__ = ["Point", "bar_points", "trade_point", "POINT_OFFSETS"]

POINT_OFFSETS = (0, 100, 200, 299)  #: offsets of the four bar points, in 1/300 of the bar


class Point(NamedTuple):
    """One point of the price path: ``jump`` is False when it is reached continuously.

    A named tuple, not an attrs class: four are made for every bar that meets a working order,
    and a tuple is built several times faster than a frozen attrs instance.
    """

    ts: int
    price: float
    liquidity: float
    jump: bool


_INF = math.inf
_new = tuple.__new__
#: timeframe -> the four points' offsets from the bar's open, in ns
_OFFSETS_NS = {tf: tuple(tf.ns * k // 300 for k in POINT_OFFSETS) for tf in Timeframe}


def _check(symbol: str, ts: int, *prices: float) -> None:
    for p in prices:
        if not (p > 0.0 and math.isfinite(p)):
            raise ValueError(f"invalid price {p!r} in market data for {symbol} at {ts}")


def bar_points(bar: Bar) -> tuple[Point, Point, Point, Point]:
    """The four points of ``bar``; raises ``ValueError`` on a non-finite or non-positive price."""
    o, h, lo, c, volume = bar.open, bar.high, bar.low, bar.close, bar.volume
    if not (0.0 < o < _INF and 0.0 < h < _INF and 0.0 < lo < _INF and 0.0 < c < _INF):
        _check(bar.symbol, bar.ts, o, h, lo, c)  # (names the bad price)
    if not 0.0 <= volume < _INF:
        raise ValueError(f"invalid volume {volume!r} in bar of {bar.symbol} at {bar.ts}")
    first, second = (lo, h) if o - lo < h - o else (h, lo)
    t = bar.ts
    _, d1, d2, d3 = _OFFSETS_NS[bar.timeframe]
    liq = volume / 4
    return (  # (tuple.__new__: a named tuple's own __new__ is a Python call)
        _new(Point, (t, o, liq, True)),
        _new(Point, (t + d1, first, liq, False)),
        _new(Point, (t + d2, second, liq, False)),
        _new(Point, (t + d3, c, liq, False)),
    )


def trade_point(trade: Trade) -> Point:
    """A print as one point (a jump) offering its size."""
    _check(trade.symbol, trade.ts, trade.price)
    if not math.isfinite(trade.size) or trade.size < 0:
        raise ValueError(f"invalid size {trade.size!r} in print of {trade.symbol} at {trade.ts}")
    return Point(ts=trade.ts, price=trade.price, liquidity=trade.size, jump=True)
