"""What the service keeps in its store beside the journal: the resume position of a replay feed, the
dry-run pause, the feed a log was written by; and the tests' kill hook.

Queries run on a read-only connection of their own (WAL: they never block the writer).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from vibe_core.actions import Action
from vibe_core.events import Event
from vibe_live.store import Store, StoreError

__all__ = ["KILL_HOOK_ENV", "logged_prints", "last_pause", "check_feed", "install_kill_hook"]

KILL_HOOK_ENV = "VIBE_LIVE_KILL_AT"  #: tests: ``SEQ:logged`` or ``SEQ:recorded`` -> SIGKILL itself there


def _query(store: Store, sql: str) -> list[tuple[object, ...]]:
    """A read-only query on the store's file (WAL: never blocks the writer)."""
    conn = sqlite3.connect(f"{store.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def logged_prints(store: Store) -> int:
    """How many prints the log holds: where a replay feed resumes (``ReplayFeed(skip=...)``)."""
    count = _query(store, "SELECT count(*) FROM events WHERE kind = 'Trade'")[0][0]
    return count if isinstance(count, int) else 0


def last_pause(store: Store) -> str | None:
    """The reason of the last Pause when it is still in force (no Resume after it), else None."""
    rows = _query(
        store, "SELECT payload FROM events WHERE kind IN ('Pause', 'Resume') ORDER BY seq DESC LIMIT 1"
    )
    if not rows:
        return None
    data = json.loads(str(rows[0][0]))
    return str(data.get("reason", "")) if data.get("type") == "Pause" else None


def check_feed(store: Store, label: str) -> None:
    """A log is resumed only by the feed that wrote it (a replay's resume position means nothing else)."""
    stored = store.get_meta("feed")
    if stored is None:
        store.set_meta("feed", label)
    elif stored != label:
        raise StoreError(
            f"{store.path}: its log was fed by {stored!r}, not {label!r}; give the same feed, or a new --db"
        )


def install_kill_hook(store: Store) -> None:
    """Tests only: ``VIBE_LIVE_KILL_AT=SEQ:logged`` (after the group holding SEQ is logged, before its
    read rows) or ``SEQ:recorded`` (after its read rows): the process SIGKILLs itself there."""
    spec = os.environ.get(KILL_HOOK_ENV)
    if not spec:
        return
    text, _, where = spec.partition(":")
    target = int(text)
    append, record = store.append, store.record

    def die() -> None:
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)

    def killing_append(events: Sequence[Event], **kwargs: Any) -> list[int]:
        seqs = append(events, **kwargs)
        if where == "logged" and seqs and seqs[0] <= target <= seqs[-1]:
            die()
        return seqs

    def killing_record(results: Iterable[tuple[int, Sequence[Action]]], **kwargs: Any) -> None:
        results = list(results)
        record(results, **kwargs)
        if where == "recorded" and any(seq >= target for seq, _ in results):
            die()

    store.append = killing_append  # type: ignore[method-assign]
    store.record = killing_record  # type: ignore[method-assign]
