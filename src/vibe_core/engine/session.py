"""Time in the engine: sessions open and close, the end-of-day flatten, and when that is next due.

State: the session bookkeeping of :class:`~vibe_core.engine.state.EngineState` (``session_index``,
``session_closed``, ``flattened``, ``day``, ``order_seq``, ``wake``, ``now``).
Consumes: the time of every accepted event (:func:`due_time`).
Emits: the flatten's cancels and market orders, the venue's expiry records at the close, and the
feed gaps still open then.
Invariants: sessions open in calendar order, each at most once; the flatten runs at most once per
session, at the first event at or after ``close - flatten_minutes_before_close``; working entries
are forgotten at the close (DAY orders expire there); ``wake`` is the earliest time of the next
of these changes.
"""

from __future__ import annotations

from vibe_core.actions import Action
from vibe_core.engine.orders import book_records, flatten_all
from vibe_core.engine.state import EngineState
from vibe_core.types import NS_PER_MINUTE

__all__ = ["due_time", "next_wake", "flatten_ns"]

_FAR = 1 << 62


def flatten_ns(state: EngineState) -> int:
    return state.config.strategy.flatten_minutes_before_close * NS_PER_MINUTE


def due_time(state: EngineState, ts: int) -> list[Action]:
    """Session bookkeeping due by ``ts``: the flatten, the close, a new session's open. Sets ``wake``."""
    if ts > state.now:
        state.now = ts
    actions: list[Action] = []
    before_close = flatten_ns(state)
    session = state.session
    if session is not None and not state.session_closed:
        if not state.flattened and ts >= session.close - before_close:
            state.flattened = True
            # a flatten first seen at or after the close is stamped at the session's last instant,
            # and its market orders then fill at the close (the venue's market-on-close fallback)
            actions += flatten_all(state, min(ts, session.close - 1), "eod")
        if ts >= session.close:
            actions += _close_session(state, ts)
    if state.session_closed or session is None or ts >= session.close:
        index = state.sessions.index_at(ts)
        if index >= 0 and index != state.session_index:
            _open_session(state, index)
            session = state.session
            assert session is not None
            if ts >= session.close - before_close:
                state.flattened = True
                actions += flatten_all(state, ts, "eod")
    state.wake = next_wake(state, ts)
    return actions


def next_wake(state: EngineState, ts: int) -> int:
    """When session bookkeeping next has work after ``ts``: the flatten, the close or the next open."""
    session = state.session
    if session is not None and not state.session_closed:
        return session.close if state.flattened else session.close - flatten_ns(state)
    upcoming = state.sessions.next_session(ts)
    return upcoming.open if upcoming is not None else _FAR


def _open_session(state: EngineState, index: int) -> None:
    session = state.sessions.sessions[index]
    state.session_index = index
    state.session_closed = False
    state.flattened = False
    state.day = session.date.strftime("%Y%m%d")
    state.order_seq = 0
    state.risk.on_session_open(state.portfolio.equity(), state.config.risk)
    state.feed.on_session_open(session.open, session.close)
    if state.book is not None:
        state.book.prune()
    for symbol in state.config.symbols:
        state.strategy.on_session_open(symbol, session)
        state.indicators.reset_session(symbol)


def _close_session(state: EngineState, ts: int) -> list[Action]:
    state.session_closed = True
    actions: list[Action] = []
    if state.venue is not None:
        records = state.venue.on_clock(ts)
        if records:
            actions = book_records(state, records)
    state.pending.clear()
    actions += state.feed.on_session_close()  # (the feed gaps still open at the close)
    return actions
