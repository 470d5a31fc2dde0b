"""The store: one SQLite file holding the write-ahead event log, snapshots and read tables.

The protocol (DESIGN §5): every input event is committed to the log *before* the engine applies it,
one transaction per received frame or small batch (:meth:`Store.append`); the engine's actions for
those events go to the read tables in the next transaction (:meth:`Store.record`); every N events,
and at shutdown, the whole engine state is saved (:meth:`Store.save_snapshot`). A restart loads the
latest snapshot and re-applies the events logged after it (:mod:`vibe_live.recovery`). Read rows
are keyed by the log position that caused them, so re-applying an event rewrites the same keys and
never adds a row.

Durability. The file is in WAL mode with ``synchronous=NORMAL`` by default: a commit appends to the
WAL and returns without ``fsync``. A killed process (kill -9, OOM, a crash) loses nothing that was
committed, because the bytes are in the operating system's page cache and are in the file for the
next process. A power loss or kernel crash can lose the last transactions before the next
checkpoint, but never corrupts the file: the log comes back as a prefix of what was sent, with its
snapshots and read rows consistent with it, and the service resumes from there. That meets the
bar "survives anything short of a lost disk" for the service's own state while a commit costs
microseconds instead of an ``fsync`` (milliseconds), which the throughput target needs. Choose
``durability="full"`` (``synchronous=FULL``: one ``fsync`` per group) when actions leave the machine,
e.g. orders sent to a real broker, so that no order can be sent for an event a power loss would
forget.

One writer at a time: a writer holds an exclusive ``flock`` on ``<db>.lock`` (released by the
kernel when the process dies, so kill -9 never leaves a stale lock); readers open the file
read-only (``readonly=True``) and never block the writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from vibe_core.actions import Action
from vibe_core.codec import event_from_dict, event_to_dict
from vibe_core.events import Event
from vibe_live.store_rows import RECORDS, write_action
from vibe_live.store_schema import APPLICATION_ID, SCHEMA_VERSION, StoreError, migrate

__all__ = ["DEFAULT_PATH", "Store", "StoreError", "EquitySample", "SessionRow"]

DEFAULT_PATH = Path("var/vibe.db")
_SQLITE_MAGIC = b"SQLite format 3\x00"

EquitySample = tuple[int, int, float, float, bool]  #: (time, seq, cash, equity, exposed)
SessionRow = tuple[str, int, int, int, float, float]  #: (date, open, close, seq, start_equity, equity)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class Store:
    """A vibe store opened for writing (the service) or reading (export, audit). See the module doc."""

    def __init__(
        self,
        path: Path | str = DEFAULT_PATH,
        *,
        readonly: bool = False,
        durability: Literal["normal", "full"] = "normal",
        check: bool = True,
    ) -> None:
        """Open (creating it when ``readonly`` is false) and check the store at ``path``.

        ``check`` runs SQLite's ``quick_check`` over the file (O(size)); a damaged page is refused
        here rather than half-way through a recovery.
        """
        self.path = Path(path)
        self.readonly = readonly
        self._lock_fd: int | None = None
        self._conn: sqlite3.Connection | None = None
        if durability not in ("normal", "full"):
            raise StoreError(f"{self.path}: unknown durability {durability!r}; expected normal or full")
        _check_header(self.path, readonly)
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._lock()
            self._conn = self._connect(durability)
            self._open(check)
        except BaseException:
            self.close()
            raise
        self._last_seq = self.last_seq() if not readonly else -1

    # -- opening ---------------------------------------------------------------------------------

    def _lock(self) -> None:
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.path}: in use by another vibe-live process (locked: {lock})") from None
        self._lock_fd = fd

    def _connect(self, durability: str) -> sqlite3.Connection:
        with self._errors("open"):
            if self.readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None)
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode != "wal":
                    raise StoreError(f"{self.path}: cannot switch to WAL mode (journal_mode is {mode})")
                conn.execute(f"PRAGMA synchronous = {durability.upper()}")
            return conn

    def _open(self, check: bool) -> None:
        conn = self._db
        with self._errors("open"):
            app = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if app != APPLICATION_ID and (app != 0 or tables):
            shown = ", ".join(sorted(tables)[:6]) or "none"
            raise StoreError(
                f"{self.path}: not a vibe store (SQLite application_id {app:#x}, tables: {shown});"
                " refusing to touch it; give another --db"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer vibe (store schema {version}, this vibe knows up to"
                f" {SCHEMA_VERSION}); upgrade vibe or give another --db"
            )
        if check:
            with self._errors("check"):
                verdict = [r[0] for r in conn.execute("PRAGMA quick_check")]
            if verdict != ["ok"]:
                lines = [line.strip() for text in verdict for line in text.splitlines()]
                problems = [line for line in lines if "***" not in line]
                more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
                raise StoreError(f"{self.path}: the database is damaged: {'; '.join(problems[:3])}{more}")
        if version < SCHEMA_VERSION:
            if self.readonly:
                raise StoreError(
                    f"{self.path}: store schema {version} needs migrating to {SCHEMA_VERSION};"
                    " open it once for writing (vibe-live run) first"
                )
            with self._errors("migrate"):
                migrate(conn, self.path)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite errors (a damaged page, a full disk) as :class:`StoreError` naming the file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {doing} failed: {exc}") from exc

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        conn = self._db
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; cannot {doing}")
        with self._errors(doing):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (checkpointing the WAL) and release the writer's lock."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the log ---------------------------------------------------------------------------------

    def append(self, events: Sequence[Event], *, conditions: Sequence[tuple[int, str]] = ()) -> list[int]:
        """Commit ``events`` to the log as one transaction; returns their sequence numbers.

        All or nothing: after a crash the log holds whole groups only. ``conditions``: ``(i, codes)``
        for the prints among ``events`` that carry trade-condition codes (``codes`` a JSON list),
        written to ``print_conditions`` under the print's ``seq`` in the same transaction.
        """
        first = self._last_seq + 1
        rows = []
        for i, event in enumerate(events):
            data = event_to_dict(event)
            try:
                payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
            except ValueError as exc:
                raise StoreError(f"{self.path}: cannot log {data['type']} at {event.ts}: {exc}") from exc
            rows.append((first + i, event.ts, data["type"], payload))
        with self._transaction("append events") as conn:
            conn.executemany("INSERT INTO events (seq, ts, kind, payload) VALUES (?, ?, ?, ?)", rows)
            if conditions:
                codes = [(first + i, text) for i, text in conditions]
                conn.executemany("INSERT INTO print_conditions (seq, codes) VALUES (?, ?)", codes)
        self._last_seq += len(rows)
        return list(range(first, first + len(rows)))

    def last_seq(self) -> int:
        """The sequence number of the last logged event (0 when the log is empty)."""
        with self._errors("read the log"):
            row = self._db.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def events_after(self, seq: int, *, batch: int = 2_000) -> Iterator[tuple[int, Event]]:
        """``(seq, event)`` for every logged event after ``seq``, in log order."""
        while True:
            with self._errors("read the log"):
                rows = self._db.execute(
                    "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, batch)
                ).fetchall()
            for seq, payload in rows:
                try:
                    event = event_from_dict(json.loads(payload))
                except Exception as exc:
                    raise StoreError(f"{self.path}: logged event {seq} cannot be read back: {exc}") from exc
                yield seq, event
            if len(rows) < batch:
                return

    # -- snapshots -------------------------------------------------------------------------------

    def save_snapshot(self, seq: int, state: dict[str, Any], *, keep: int = 3) -> None:
        """Save ``state`` (``save_state`` of the engine after event ``seq``); keep the latest ``keep``."""
        payload = _dumps(state)
        with self._transaction("save a snapshot") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (seq, ts, payload)"
                " VALUES (?1, coalesce((SELECT ts FROM events WHERE seq = ?1), 0), ?2)",
                (seq, payload),
            )
            conn.execute(
                "DELETE FROM snapshots"
                " WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                (keep,),
            )

    def latest_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        """``(seq, state)`` of the latest snapshot, or None."""
        with self._errors("read a snapshot"):
            row = self._db.execute("SELECT seq, payload FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        try:
            return int(row[0]), json.loads(row[1])
        except ValueError as exc:
            raise StoreError(f"{self.path}: snapshot {row[0]} is not valid JSON: {exc}") from exc

    # -- meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._errors("read meta"):
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction("write meta") as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- read tables -------------------------------------------------------------------------------

    def record(
        self,
        results: Iterable[tuple[int, Sequence[Action]]],
        *,
        equity: Iterable[EquitySample] = (),
        sessions: Iterable[SessionRow] = (),
    ) -> None:
        """Write the read rows of the actions each logged event caused, in one transaction.

        ``results`` pairs a log ``seq`` with the actions of that event. Idempotent: recording the
        same results again (a replay after a crash) leaves the tables as they were.
        """
        results = [(seq, acts) for seq, acts in results if any(isinstance(a, RECORDS) for a in acts)]
        equity, sessions = list(equity), list(sessions)
        if not (results or equity or sessions):
            return  # most prints cause nothing to record: no transaction for them
        with self._transaction("record actions") as conn:
            for seq, actions in results:
                for idx, action in enumerate(actions):
                    write_action(conn, seq, idx, action)
            conn.executemany(
                "INSERT OR REPLACE INTO equity (time, seq, cash, equity, exposed) VALUES (?, ?, ?, ?, ?)",
                equity,
            )
            conn.executemany(
                "INSERT INTO sessions (date, open, close, first_seq, last_seq, start_equity, end_equity)"
                " VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) ON CONFLICT (date) DO UPDATE SET"
                " last_seq = excluded.last_seq, start_equity = excluded.start_equity,"
                " end_equity = excluded.end_equity",
                sessions,
            )

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a read table (or ``events``), in key order: for export, audit and tests."""
        orders = {
            "orders": "seq, idx",
            "order_events": "seq, idx",
            "fills": "seq, idx",
            "trades": "seq, idx",
            "signals": "seq, idx",
            "halts": "seq, idx",
            "gaps": "seq, idx",
            "equity": "time",
            "sessions": "date",
            "events": "seq",
            "recovered_bars": "symbol, time",
            "print_conditions": "seq",
        }
        if table not in orders:
            raise StoreError(f"{self.path}: no table {table!r}; expected one of {', '.join(orders)}")
        with self._errors(f"read {table}"):
            cur = self._db.execute(f"SELECT * FROM {table} ORDER BY {orders[table]}")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

    def integrity_check(self) -> str:
        """SQLite's full ``integrity_check``: ``"ok"`` or the problems found."""
        with self._errors("check"):
            return "; ".join(r[0] for r in self._db.execute("PRAGMA integrity_check"))


def _check_header(path: Path, readonly: bool) -> None:
    """Refuse a directory, a missing file to read, or a file that is not SQLite, before opening it."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    if not path.exists():
        if readonly:
            raise StoreError(f"{path}: no such database")
        return
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from exc
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{path}: not a SQLite database (it starts with {head[:8]!r}); give another --db")
