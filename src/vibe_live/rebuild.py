"""A session read back from its store: its config, its records, its state, and the days it saw.

Shared by :mod:`vibe_live.export` (the backtester's files from the read tables) and
:mod:`vibe_live.audit` (the bars rebuilt from the log, backtested day by day). Everything here
reads; nothing writes to the store, so a store opened with ``readonly=True`` serves (a running
service keeps writing meanwhile: what is read is the log up to the moment of reading).

- :func:`stored_config`: the config the log was written with (``meta.config``, bound by the
  first :meth:`~vibe_live.recovery.Journal.resume`).
- :func:`recorded`: the record actions of the read tables (orders' acceptances, rejections and
  cancels, fills, closed trades, evaluated signals, halts, feed gaps) in log order, ``(seq, action)``: the
  order in which the engine emitted them, which is the order the backtester's recorder keeps.
- :func:`final_state`: the engine after the last logged event (latest snapshot + later events).
- :func:`days`: the log cut into trading days: per day the engine's state at its start, the 5m
  bars its prints make (``vibe_core.bars.BarAggregator``, stamped at their open, aligned to the
  session open, the same rules as the engine's own aggregation) and the events that have no bar
  mode counterpart (operator commands, an external broker's order events).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from vibe_backtest.loop import Recorder
from vibe_core.actions import Action
from vibe_core.bars import BarAggregator
from vibe_core.calendar import Session, SessionTable
from vibe_core.codec import structure
from vibe_core.config import Config, ConfigError, config_from_dict
from vibe_core.engine import EngineState, load_state, new_state, save_state, step
from vibe_core.errors import SnapshotError
from vibe_core.events import Bar, BarSlice, Clock, Trade
from vibe_core.types import Timeframe
from vibe_live.store import Store, StoreError

__all__ = [
    "Day",
    "stored_config",
    "recorded",
    "recorder_of",
    "final_state",
    "days",
    "start_state",
    "BROKER_KINDS",
]

#: the tables holding the engine's records, each row with the action itself (codec JSON)
_RECORD_TABLES = ("order_events", "fills", "trades", "signals", "halts", "gaps")
#: order events an external broker sends back; logged only when one executes the orders
BROKER_KINDS = frozenset({"OrderAccepted", "OrderRejected", "Filled", "OrderCancelled"})


def stored_config(store: Store) -> Config:
    """The config the store's log was written with; :class:`StoreError` when none or unreadable."""
    text = store.get_meta("config")
    if text is None:
        raise StoreError(f"{store.path}: holds no session yet (no config in its meta table)")
    try:
        return config_from_dict(json.loads(text))
    except (ValueError, ConfigError, TypeError) as exc:
        raise StoreError(f"{store.path}: its stored config cannot be read: {exc}") from exc


def recorded(store: Store) -> list[tuple[int, Action]]:
    """``(seq, action)`` of every record in the read tables, in the order the engine emitted them."""
    keyed: list[tuple[int, int, Action]] = []
    for table in _RECORD_TABLES:
        for row in store.rows(table):
            try:
                action = structure(json.loads(row["action"]), Action)
            except Exception as exc:
                raise StoreError(
                    f"{store.path}: {table} row ({row['seq']}, {row['idx']}) cannot be read back: {exc}"
                ) from exc
            keyed.append((row["seq"], row["idx"], action))
    keyed.sort(key=lambda r: (r[0], r[1]))
    return [(seq, action) for seq, _, action in keyed]


def recorder_of(actions: Iterable[Action]) -> Recorder:
    """The backtester's :class:`~vibe_backtest.loop.Recorder` fed ``actions`` (as its loop does)."""
    recorder = Recorder()
    recorder.record(actions)
    return recorder


def _external(store: Store) -> bool:
    """Whether an external broker executed the session's orders (its order events are in the log)."""
    with store._errors("read the log"):
        kinds = {r[0] for r in store._db.execute("SELECT DISTINCT kind FROM events")}
    return bool(kinds & BROKER_KINDS)


def _trade_source(store: Store, default: str) -> str:
    """The ``source`` the session's engine stamps on bars made from prints (its snapshots keep it)."""
    latest = store.latest_snapshot()
    try:
        return str(latest[1]["bars"]["trade_source"]) if latest is not None else default
    except (KeyError, TypeError):
        return default


def _load(store: Store, data: dict[str, Any], sessions: SessionTable, what: str) -> EngineState:
    try:
        return load_state(data, sessions)
    except (SnapshotError, KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"{store.path}: {what} cannot be restored: {exc}") from exc


def final_state(store: Store, config: Config, sessions: SessionTable) -> tuple[EngineState, int]:
    """The engine after the last logged event and that event's ``seq``, read-only (no rows written)."""
    latest = store.latest_snapshot()
    if latest is None:
        seq, state = 0, new_state(config, sessions, external_broker=_external(store))
    else:
        seq, data = latest
        state = _load(store, data, sessions, f"snapshot {seq}")
    for last, event in store.events_after(seq):
        state, _ = step(state, event)
        seq = last
    return state, seq


@attrs.define
class Day:
    """One trading day of the log: the events from just after the previous session's close to its own."""

    session: Session
    first_seq: int
    last_seq: int = 0
    last_ts: int = 0  #: the time of the day's latest event
    start: dict[str, Any] = attrs.Factory(dict)  #: ``save_state`` of the engine before the day's first event
    bars: list[Bar] = attrs.Factory(list)  #: the complete 5m bars the day's market data made
    prints: int = 0
    touched: list[tuple[str, int]] = attrs.Factory(list)  #: (kind, ts) of events without a bar-mode twin

    @property
    def complete(self) -> bool:
        """The log reaches the session's close (its last bar closed, its end-of-day work done)."""
        return self.last_ts >= self.session.close


def _day_index(sessions: SessionTable, ts: int) -> int:
    """The session an event at ``ts`` belongs to: the first one whose close is at or after ``ts``."""
    i = sessions.last_index_at_or_before(ts)
    if i < 0 or ts <= sessions.sessions[i].close:
        return max(i, 0)
    return i + 1


def days(store: Store, config: Config, sessions: SessionTable) -> Iterator[Day]:
    """The log cut into trading days, each with the engine's state at its start (see the module doc).

    An event belongs to the first session closing at or after it (a Clock at a close belongs to
    that session, one in the night to the next). Events older than the current day (late history
    bars) stay in it. The engine is re-stepped over the whole log from a fresh state, the same
    computation as recovery, to know each day's starting state.
    """
    state = new_state(config, sessions, external_broker=_external(store))
    trade_source = state.bars.trade_source = _trade_source(store, state.bars.trade_source)
    day: Day | None = None
    index = -1
    agg: BarAggregator | None = None
    for seq, event in store.events_after(0):
        i = _day_index(sessions, event.ts)
        if day is None or i > index:
            if day is not None and agg is not None:
                day.bars.extend(_flush(agg, day))
                yield day
            index = i
            if i >= len(sessions.sessions):
                raise StoreError(
                    f"{store.path}: logged event {seq} at {event.ts} is after the calendar's end"
                )
            day = Day(session=sessions.sessions[i], first_seq=seq, start=save_state(state))
            agg = BarAggregator(sessions=sessions, timeframes=(Timeframe.M5,), trade_source=trade_source)
        assert agg is not None
        match event:
            case Trade():
                day.prints += 1
                day.bars.extend(agg.on_trade(event))
            case Clock():
                day.bars.extend(agg.on_clock(event.ts))
            case Bar():
                day.bars.extend(agg.on_bar(event))
            case BarSlice():
                day.bars.extend(agg.on_bars(list(event.bars)))
            case _:
                day.touched.append((type(event).__name__, event.ts))
        state, _ = step(state, event)
        day.last_seq = seq
        day.last_ts = max(day.last_ts, event.ts)
    if day is not None and agg is not None:
        day.bars.extend(_flush(agg, day))
        yield day


def _flush(agg: BarAggregator, day: Day) -> list[Bar]:
    """The bars still forming at the day's end that the session closed too (all of them once the log
    reaches the close; those ending by the last event otherwise)."""
    return agg.on_clock(day.session.close if day.complete else day.last_ts)


def start_state(store: Store, day: Day, sessions: SessionTable) -> EngineState:
    """The engine as it stood before ``day``'s first event."""
    return _load(store, day.start, sessions, f"the state before event {day.first_seq}")
