"""The door: what an event must satisfy, given the state, before ``step`` lets it change anything.

State: none (reads :class:`~vibe_core.engine.state.EngineState`).
Consumes: every :data:`~vibe_core.events.Event`.
Emits: ``(reason, detail)`` for an event to refuse, or ``None``; the engine turns a refusal into an
:class:`~vibe_core.actions.EventRejected` record and counts it per reason.
Invariants: pure (the state is never changed here). An event's own values (finite, positive
prices, sizes, known timeframes) are checked where it is built; here only what it may still get
wrong in context: a symbol the engine does not trade, a bar older than the engine's time, a broker
event while the simulated venue executes, or one the broker's book cannot take (unknown order, a
fill above the remaining quantity, ...). Prints are also checked for finite, positive prices and
sizes (one comparison each; a feed's malformed print must never reach the forming bar). Late
prints are accepted (the bar aggregator counts them); broker events may be older than ``now``.
"""

from __future__ import annotations

from typing import assert_never

from vibe_core.engine.book import order_id_of
from vibe_core.engine.state import EngineState
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)

__all__ = ["check"]

_INF = float("inf")
Refusal = tuple[str, str]


def check(state: EngineState, event: Event) -> Refusal | None:
    """Why ``event`` cannot apply to ``state`` (``(reason, detail)``), or ``None`` when it can."""
    match event:
        case BarSlice():  # (one time for all its bars: the slice's validator checked that)
            if event.ts < state.now:
                return _stale(state, event.bars[0]) if event.bars else None
            symbols = state.config.symbols
            for bar in event.bars:
                if bar.symbol not in symbols:
                    return _unknown(state, bar)
            return None
        case Bar():
            return _check_bar(state, event)
        case Trade():
            if event.symbol not in state.config.symbols:
                return (
                    "unknown symbol",
                    f"print of {event.symbol!r}, trading {_symbols(state)}",
                )
            if not (0.0 < event.price < _INF and 0.0 <= event.size < _INF):
                return (
                    "invalid print",
                    f"{event.symbol} at {event.ts}: price {event.price!r}, size {event.size!r}",
                )
            return None
        case OrderAccepted() | OrderRejected() | OrderCancelled() | Filled():
            if state.book is None:
                return (
                    "no external broker",
                    f"broker event for {order_id_of(event)} while the simulated venue executes",
                )
            return state.book.check(event)
        case Clock() | Pause() | Resume() | CloseAll() | FeedStatus():
            return None
        case _:
            assert_never(event)


def _check_bar(state: EngineState, bar: Bar) -> Refusal | None:
    if bar.symbol not in state.config.symbols:
        return _unknown(state, bar)
    if bar.ts < state.now:
        return _stale(state, bar)
    return None


def _unknown(state: EngineState, bar: Bar) -> Refusal:
    return "unknown symbol", f"bar of {bar.symbol!r}, trading {_symbols(state)}"


def _stale(state: EngineState, bar: Bar) -> Refusal:
    shown = f"{bar.symbol} {bar.timeframe.label} bar opens at {bar.ts}, before the engine's time {state.now}"
    return "stale bar", shown


def _symbols(state: EngineState) -> str:
    return ", ".join(state.config.symbols)
