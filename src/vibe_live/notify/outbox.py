"""The outbox: notifications committed to the store's SQLite file before anything is sent.

State: the ``outbox`` table and the ``outbox.seq`` meta key. Consumes: items, delivery verdicts.
Emits: pending rows in commit order. Invariants: one row per key; ``sent`` only after a 2xx; rows
are never deleted; the high-water mark never goes back.

A row per :class:`~vibe_live.notify.items.Item`, unique by its idempotency ``key``
(``INSERT OR IGNORE``: deriving an item again adds nothing). The sender reads the pending rows in
order, posts them and sets ``sent`` only after a 2xx; an item split over several messages counts
its delivered messages in ``parts_sent`` so a restart resumes with the next one. A webhook that
refuses a message for good (``400``) gets ``failed`` set with Discord's answer; nothing is deleted.

The one window: a crash (or a cancelled request) after Discord accepted a message and before its
``sent`` commit sends that message again on restart. Everything else is exactly once.

The outbox has its own connection to the store's file (WAL: it never blocks the journal's writer
or the readers); the ``outbox`` table comes with the store's migration 2. The key ``outbox.seq`` in
``meta`` is the high-water mark: the last log position whose actions were turned into items, written
in the same transaction as those items.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

from vibe_live.notify.items import Item
from vibe_live.store_schema import StoreError

__all__ = ["Outbox", "OutboxRow", "HIGH_WATER_KEY"]

HIGH_WATER_KEY = "outbox.seq"


@attrs.frozen
class OutboxRow:
    id: int
    key: str
    created: int  #: wall ns of the commit
    parts_sent: int
    item: Item


class Outbox:
    """The ``outbox`` table of the store at ``path`` (opened and migrated by :class:`Store` first)."""

    def __init__(self, path: Path | str, *, channel: str = "discord") -> None:
        self.path = Path(path)
        self.channel = channel
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no such database (the service creates it)")
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a kill -9 loses no commit (see Store)
        found = self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone()
        if found is None:
            self._conn.close()
            raise StoreError(f"{self.path}: no outbox table (open the store with vibe-live run first)")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: outbox: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- writing -------------------------------------------------------------------------------

    def add(self, items: Iterable[Item], *, seq: int | None = None, now: int | None = None) -> int:
        """Commit ``items`` (a key already there is ignored) and the high-water ``seq``; the count added."""
        created = time.time_ns() if now is None else now
        rows = [(i.key, self.channel, i.kind, int(i.urgent), created, i.to_json()) for i in items]
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO outbox (key, channel, kind, urgent, created, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = conn.total_changes - before
            if seq is not None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
                    " value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    (HIGH_WATER_KEY, str(seq)),
                )
        return added

    def mark_sent(self, ids: Sequence[int], *, now: int | None = None) -> None:
        stamp = time.time_ns() if now is None else now
        with self._transaction() as conn:
            conn.executemany("UPDATE outbox SET sent = ? WHERE id = ?", [(stamp, i) for i in ids])

    def mark_part(self, row_id: int, parts_sent: int) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE outbox SET parts_sent = ? WHERE id = ?", (parts_sent, row_id))

    def mark_failed(self, ids: Sequence[int], reason: str) -> None:
        with self._transaction() as conn:
            conn.executemany("UPDATE outbox SET failed = ? WHERE id = ?", [(reason, i) for i in ids])

    # -- reading -------------------------------------------------------------------------------

    def pending(self, limit: int = 250) -> list[OutboxRow]:
        """The unsent rows of this channel in commit order (urgent or not)."""
        rows = self._conn.execute(
            "SELECT id, key, created, parts_sent, payload FROM outbox"
            " WHERE channel = ? AND sent IS NULL AND failed IS NULL ORDER BY id LIMIT ?",
            (self.channel, limit),
        ).fetchall()
        return self._decoded(rows)

    def first_urgent(self) -> OutboxRow | None:
        rows = self._conn.execute(
            "SELECT id, key, created, parts_sent, payload FROM outbox"
            " WHERE channel = ? AND sent IS NULL AND failed IS NULL AND urgent = 1 ORDER BY id LIMIT 1",
            (self.channel,),
        ).fetchall()
        decoded = self._decoded(rows)
        return decoded[0] if decoded else (self.first_urgent() if rows else None)

    def _decoded(self, rows: Sequence[tuple[int, str, int, int, str]]) -> list[OutboxRow]:
        """The rows as items; one that cannot be read back (another vibe's payload) is marked failed."""
        out, bad = [], []
        for row_id, key, created, parts, payload in rows:
            try:
                out.append(OutboxRow(row_id, key, created, parts, Item.from_json(payload)))
            except (ValueError, TypeError, KeyError) as exc:
                bad.append((row_id, f"cannot be read back: {exc}"))
        for row_id, reason in bad:
            self.mark_failed([row_id], reason)
        return out

    def counts(self) -> dict[str, int]:
        """``pending``, ``sent`` and ``failed`` rows of this channel."""
        row = self._conn.execute(
            "SELECT count(*) FILTER (WHERE sent IS NULL AND failed IS NULL),"
            " count(*) FILTER (WHERE sent IS NOT NULL), count(*) FILTER (WHERE failed IS NOT NULL)"
            " FROM outbox WHERE channel = ?",
            (self.channel,),
        ).fetchone()
        return {"pending": int(row[0]), "sent": int(row[1]), "failed": int(row[2])}

    def has(self, key: str) -> bool:
        return self._conn.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is not None

    def high_water(self) -> int | None:
        """The last log position turned into items (None: notifications never ran on this store)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (HIGH_WATER_KEY,)).fetchone()
        return None if row is None else int(row[0])

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """A read of the store's tables on this connection (stops for R, the day's trades)."""
        return list(self._conn.execute(sql, params))
