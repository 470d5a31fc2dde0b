"""The aggregator's private records: a forming bar, a symbol's forming bars, and their public form.

State: none of its own: :class:`Forming` and :class:`SymbolState` are mutable records owned by one
:class:`~vibe_core.bars.aggregator.BarAggregator`.
Consumes: the values of checked ``Bar`` s and ``Trade`` prints (by the aggregator).
Emits: public ``Bar`` s (:func:`to_bar`).
Invariants: a forming bar lies inside one session (``session_open <= start < end <=
session_close``); ``SymbolState.forming`` has one slot per tracked timeframe; :func:`to_bar` is
the only place a ``Bar`` is built without its keyword call and field checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final

import attrs

from vibe_core.events import Bar
from vibe_core.types import Timeframe

__all__ = [
    "Forming",
    "SymbolState",
    "check_timeframes",
    "merged",
    "to_bar",
    "checked_bar",
    "checked_bars",
    "NEVER",
    "FAR",
    "TF_NS",
]

NEVER: Final = -(1 << 62)  #: earlier than any timestamp
FAR: Final = 1 << 62  #: later than any timestamp
TF_NS: Final = {tf: tf.ns for tf in Timeframe}


class _Building(Bar):
    """:func:`to_bar`'s own: a ``Bar`` whose slots take plain stores; never seen outside it."""

    # (``object``'s own __setattr__/__delattr__: CPython then stores straight to the slots, where
    # ``Bar``'s frozen guard, and even ``object.__setattr__`` called by name, cost ~1,000 machine
    # instructions a field: half the aggregator's cost)
    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


_new = object.__new__


@attrs.define
class Forming:
    """A bar being built; mutable and owned by one :class:`SymbolState`."""

    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    source: str
    session_open: int
    session_close: int

    @classmethod
    def of(cls, bar: Bar | Forming, start: int, end: int, session: tuple[int, int]) -> Forming:
        """A new forming bar spanning ``[start, end)`` in ``session`` with ``bar``'s values."""
        return cls(
            start, end, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.source, session[0], session[1]
        )


@attrs.define
class SymbolState:
    name: str
    forming: list[Forming | None]  #: one slot per tracked timeframe
    seen_end: int = NEVER  #: latest end of a bar emitted for this symbol or fed as input


def check_timeframes(value: tuple[Timeframe, ...]) -> None:
    if not value:
        raise ValueError("timeframes: at least one timeframe is needed")
    if any(a >= b for a, b in itertools.pairwise(value)):
        raise ValueError(f"timeframes must be strictly ascending, got {[tf.label for tf in value]}")


def to_bar(symbol: str, timeframe: Timeframe, fb: Forming) -> Bar:
    """The public bar of a forming one (every bar the aggregator emits that it did not get)."""
    return checked_bar(symbol, timeframe, fb.start, fb.open, fb.high, fb.low, fb.close, fb.volume, fb.source)


def checked_bar(
    symbol: str, timeframe: Timeframe, ts: int, open: float, high: float, low: float, close: float,
    volume: float, source: str,
) -> Bar:  # fmt: skip
    """A ``Bar`` of values already checked: a fold of checked bars or prints, or the columns of a
    validated ``BarSeries`` (a backtest's input, checked at load as ``Bar`` would)."""
    # Valid by construction, so it is stored slot by slot, without Bar's keyword call and field
    # checks (the bulk of aggregation's cost otherwise): built as a _Building, then made a Bar
    # before anyone sees it (tests/vibe_core/test_bars.py checks every emitted bar against Bar's
    # constructor).
    bar: Any = _new(_Building)  # (Any: the frozen Bar types its fields read-only)
    bar.symbol = symbol
    bar.timeframe = timeframe
    bar.ts = ts
    bar.open = open
    bar.high = high
    bar.low = low
    bar.close = close
    bar.volume = volume
    bar.source = source
    bar.ts_recv = None
    bar.__class__ = Bar
    done: Bar = bar
    return done


def checked_bars(
    symbols: Sequence[str], timeframe: Timeframe, ts: int, opens: Sequence[float], highs: Sequence[float],
    lows: Sequence[float], closes: Sequence[float], volumes: Sequence[float], sources: Sequence[str],
) -> list[Bar]:  # fmt: skip
    """:func:`checked_bar` of each symbol's values at one instant (a row of checked columns), in one
    call: the backtest's catch-up builds a row of bars at a time."""
    values = zip(symbols, opens, highs, lows, closes, volumes, sources, strict=True)
    return [
        checked_bar(symbol, timeframe, ts, o, h, lo, c, v, source)
        for symbol, o, h, lo, c, v, source in values
    ]


def merged(forming: list[Forming | None], k: int, tf: int) -> Forming | None:
    """Level ``k`` of a symbol's forming bars as it stands, lower levels folded in (a copy)."""
    view = forming[k]
    for part in reversed(forming[:k]):  # lower levels as they stand, older first
        if part is None:
            continue
        start = part.session_open + (part.start - part.session_open) // tf * tf
        if view is None:
            end = min(start + tf, part.session_close)
            view = Forming.of(part, start, end, (part.session_open, part.session_close))
        elif view.start == start:
            view = attrs.evolve(
                view,
                high=max(view.high, part.high),
                low=min(view.low, part.low),
                close=part.close,
                volume=view.volume + part.volume,
            )
    return view
