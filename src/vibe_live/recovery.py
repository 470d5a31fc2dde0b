"""The write-ahead loop and crash recovery: log a group, step it, record it; resume after a crash.

:class:`Journal` is what the service's step task drives: :meth:`Journal.feed` commits a group of
input events to the log, applies them one by one with ``vibe_core.engine.step``, writes the read
rows of their actions and, every ``snapshot_every`` events, a snapshot. :func:`recover` (or
:meth:`Journal.resume`) rebuilds the engine after a crash: the latest snapshot, or a fresh engine,
then every event logged after it, re-applied through the same code path, so the read rows they
produce are rewritten under the same keys and the state equals the uninterrupted run's.

Equity samples and session rows are a function of the event stream alone (no wall clock), so a
replay rebuilds them too: before an event that starts a new 5m interval, the equity at the end of
the previous interval (the state after every earlier event, as the backtester samples at a bar's
end); after a ``Clock``, the equity at its time. Samples outside a session are skipped.

Invariants: the log holds every event the engine has seen (an event is applied only after its group
committed); a snapshot at ``seq`` is written only after the read rows up to ``seq``; the events
after the latest snapshot are exactly those a restart re-applies; nothing is fed twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from vibe_core.actions import Action
from vibe_core.config import config_to_dict
from vibe_core.engine import EngineState, load_state, save_state, step
from vibe_core.events import Clock, Event
from vibe_core.snapshot import read_model
from vibe_core.types import Timeframe
from vibe_live.store import EquitySample, SessionRow, Store, StoreError

__all__ = ["Journal", "recover", "DEFAULT_SNAPSHOT_EVERY"]

DEFAULT_SNAPSHOT_EVERY = 20_000  #: events between snapshots: a restart re-applies at most this many
_SAMPLE_NS = Timeframe.M5.ns
_CONFIG_KEY = "config"


class Journal:
    """The engine behind its write-ahead log. See the module docstring for the protocol."""

    def __init__(
        self,
        store: Store,
        state: EngineState,
        *,
        last_seq: int = 0,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
    ) -> None:
        if snapshot_every <= 0:
            raise ValueError(f"snapshot_every must be > 0, got {snapshot_every}")
        self.store = store
        self.state = state
        self.last_seq = last_seq  #: the last event applied (and logged)
        self.snapshot_every = snapshot_every
        self._snapshot_seq = last_seq
        last_ts = read_model(state).ts
        self._sample_at = (last_ts // _SAMPLE_NS + 1) * _SAMPLE_NS if last_ts > 0 else 0
        self._equity: list[EquitySample] = []
        self._sessions: list[SessionRow] = []

    @classmethod
    def resume(
        cls,
        store: Store,
        new_engine: Callable[[], EngineState],
        *,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        batch: int = 2_000,
    ) -> Journal:
        """The journal of ``store`` after recovery: latest snapshot + the events logged after it.

        ``new_engine`` makes a fresh engine (the same config as the store was written with,
        else :class:`StoreError`). Re-applied events rewrite their read rows under the same keys.
        """
        fresh = new_engine()
        _check_config(store, config_to_dict(fresh.config))
        latest = store.latest_snapshot()
        if latest is None:
            journal = cls(store, fresh, snapshot_every=snapshot_every)
        else:
            seq, data = latest
            state = load_state(data, fresh.sessions)
            journal = cls(store, state, last_seq=seq, snapshot_every=snapshot_every)
        logged = store.events_after(journal.last_seq)
        while group := list(islice(logged, batch)):
            journal._apply_logged(group)
        return journal

    def feed(
        self, events: Sequence[Event], *, conditions: Sequence[tuple[int, str]] = ()
    ) -> list[tuple[int, list[Action]]]:
        """Log ``events`` (one commit), apply them, record their actions; ``(seq, actions)`` per event.

        ``conditions``: the prints' trade-condition codes, logged in the same commit (see
        :meth:`Store.append`); the core never reads them.

        If ``step`` raises (a broken invariant of the core: bad input is a record, not an
        exception), the group is logged but only partly applied: drop this journal and
        :meth:`resume` a new one, or stop.
        """
        if not events:
            return []
        seqs = self.store.append(events, conditions=conditions) if conditions else self.store.append(events)
        return self._apply_logged(zip(seqs, events, strict=True))

    def snapshot(self) -> None:
        """Save the engine's state after the last applied event (at shutdown, or by policy)."""
        if self._snapshot_seq != self.last_seq:
            self.store.save_snapshot(self.last_seq, save_state(self.state))
            self._snapshot_seq = self.last_seq

    def _apply_logged(self, logged: Iterable[tuple[int, Event]]) -> list[tuple[int, list[Action]]]:
        results: list[tuple[int, list[Action]]] = []
        for seq, event in logged:
            if event.ts >= self._sample_at > 0:
                self._sample(self._sample_at, seq)
            self.state, actions = step(self.state, event)
            results.append((seq, actions))
            if isinstance(event, Clock):
                self._sample(event.ts, seq)
            if event.ts >= self._sample_at:
                self._sample_at = (event.ts // _SAMPLE_NS + 1) * _SAMPLE_NS
            self.last_seq = seq
        self.store.record(results, equity=self._equity, sessions=self._sessions)
        self._equity.clear()
        self._sessions.clear()
        if self.last_seq - self._snapshot_seq >= self.snapshot_every:
            self.snapshot()
        return results

    def _sample(self, ts: int, seq: int) -> None:
        session = self.state.sessions.session_at(ts - 1)
        if session is None:
            return
        view = read_model(self.state)
        equity = view.account.equity
        self._equity.append((ts, seq, view.account.cash, equity, bool(view.positions)))
        self._sessions.append(
            (session.date.isoformat(), session.open, session.close, seq, view.session_start_equity, equity)
        )


def recover(
    store: Store,
    new_engine: Callable[[], EngineState],
    *,
    snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
) -> tuple[EngineState, int]:
    """The engine state after the last logged event, and that event's ``seq`` (0: empty log).

    The feed resumes with whatever comes after event ``seq``: nothing is fed twice or skipped.
    """
    journal = Journal.resume(store, new_engine, snapshot_every=snapshot_every)
    return journal.state, journal.last_seq


def _check_config(store: Store, config: dict[str, Any]) -> None:
    """The log replays only under the config it was written with: bind it, or compare with it."""
    stored = store.get_meta(_CONFIG_KEY)
    if stored is None:
        store.set_meta(_CONFIG_KEY, json.dumps(config, sort_keys=True))
        return
    before = json.loads(stored)
    if before != config:
        changed = sorted(_diff(before, config))
        shown = ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else "")
        raise StoreError(
            f"{store.path}: its log was written with another config ({shown} changed);"
            " run with the same config, or give a new --db"
        )


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out.extend(_diff(a.get(key), b.get(key), f"{prefix}{key}."))
        return out
    return [] if a == b else [prefix.rstrip(".")]
