"""The store's SQLite schema, its identity and its migrations.

A vibe store says who it is in the SQLite header: ``PRAGMA application_id`` is :data:`APPLICATION_ID`
("vibe" in ASCII) and ``PRAGMA user_version`` the schema version, the number of migrations applied.
:func:`migrate` applies the missing ones in order inside one transaction, so a store is always at
one version or the next, never in between. A file that is not SQLite, a SQLite file of another
application, a store of a newer schema or a damaged store is refused with a :class:`StoreError`
that names the path and the problem; nothing is written to it.

Tables (times are ns UTC; ``seq`` is the log position of the event that caused a row, ``idx`` the
position of the action among that event's actions, so ``(seq, idx)`` names one action for good and a
replay after a crash writes the same keys again, which ``INSERT OR IGNORE`` drops):

- ``events``: the write-ahead log, append-only: ``seq``, ``ts``, ``kind`` (the event's class),
  ``payload`` (the codec's tagged JSON).
- ``snapshots``: ``save_state`` of the engine after the event ``seq``.
- ``orders`` (keyed by the deterministic order id; ``seq, idx`` of its acceptance),
  ``order_events`` (accepted, rejected, cancelled), ``fills``, ``trades``, ``signals`` (verdict,
  reasons, vetoes), ``halts``: the engine's records for people. Each also keeps the action
  itself (``action``, codec JSON).
- ``equity``: samples keyed by time; ``sessions``: one row per trading day.
- ``meta``: key/value pairs (the config the log was written with).
- ``recovered_bars`` (migration 2): 5m bars fetched from Yahoo for a feed gap (symbol, time, OHLCV,
  source, the gap), marked recovered: for the record, never fed to the engine.
- ``outbox`` (migration 3): notifications committed before they are sent (:mod:`vibe_live.notify`):
  one row per message item under a unique idempotency ``key``, ``sent`` set after a 2xx.
- ``gaps`` (migration 4): the feed gaps the engine recorded (``FeedGap``): ``symbol`` (``*``: the
  whole feed), ``start`` and ``end`` (ns UTC), ``reason`` (``stale``, ``feed down: ...``), keyed
  by ``(seq, idx)`` like the other records.
- ``print_conditions`` (migration 5): the trade-condition codes of a logged print (Finnhub's ``c``,
  a JSON list of strings) under the print's ``seq``; written with the print, never read by the core.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "StoreError", "migrate"]

APPLICATION_ID = int.from_bytes(b"vibe", "big")  #: 0x76696265, in the header of every vibe store


class StoreError(Exception):
    """The store cannot be used: the message names the file and what is wrong with it."""


_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL,"
    " payload TEXT NOT NULL)",
    "CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE orders (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " time INTEGER NOT NULL,"
    " symbol TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, qty INTEGER NOT NULL,"
    " limit_price REAL, stop_price REAL, tif TEXT NOT NULL, tag TEXT NOT NULL, parent_id TEXT,"
    " status TEXT NOT NULL, action TEXT NOT NULL)",
    "CREATE TABLE order_events (seq INTEGER NOT NULL, idx INTEGER NOT NULL, time INTEGER NOT NULL,"
    " order_id TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, action TEXT NOT NULL,"
    " PRIMARY KEY (seq, idx)) WITHOUT ROWID",
    "CREATE INDEX order_events_by_order ON order_events (order_id)",
    "CREATE TABLE fills (seq INTEGER NOT NULL, idx INTEGER NOT NULL, time INTEGER NOT NULL,"
    " order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, qty INTEGER NOT NULL,"
    " price REAL NOT NULL, ref_price REAL NOT NULL, fee REAL NOT NULL, tag TEXT NOT NULL,"
    " action TEXT NOT NULL, PRIMARY KEY (seq, idx)) WITHOUT ROWID",
    "CREATE INDEX fills_by_order ON fills (order_id)",
    "CREATE TABLE trades (seq INTEGER NOT NULL, idx INTEGER NOT NULL, symbol TEXT NOT NULL,"
    " side TEXT NOT NULL, qty INTEGER NOT NULL, entry_time INTEGER NOT NULL, entry_price REAL NOT NULL,"
    " exit_time INTEGER NOT NULL, exit_price REAL NOT NULL, pnl REAL NOT NULL, fees REAL NOT NULL,"
    " exit_reason TEXT NOT NULL, action TEXT NOT NULL, PRIMARY KEY (seq, idx)) WITHOUT ROWID",
    "CREATE TABLE signals (seq INTEGER NOT NULL, idx INTEGER NOT NULL, time INTEGER NOT NULL,"
    " symbol TEXT NOT NULL, strategy TEXT NOT NULL, side TEXT NOT NULL, price REAL NOT NULL,"
    " stop REAL NOT NULL, target REAL NOT NULL, range_high REAL, range_low REAL,"
    " accepted INTEGER NOT NULL, qty INTEGER NOT NULL, reasons TEXT NOT NULL, vetoes TEXT NOT NULL,"
    " action TEXT NOT NULL, PRIMARY KEY (seq, idx)) WITHOUT ROWID",
    "CREATE TABLE halts (seq INTEGER NOT NULL, idx INTEGER NOT NULL, time INTEGER NOT NULL,"
    " reason TEXT NOT NULL, session_start_equity REAL NOT NULL, equity REAL NOT NULL,"
    " action TEXT NOT NULL, PRIMARY KEY (seq, idx)) WITHOUT ROWID",
    "CREATE TABLE equity (time INTEGER PRIMARY KEY, seq INTEGER NOT NULL, cash REAL NOT NULL,"
    " equity REAL NOT NULL, exposed INTEGER NOT NULL)",
    "CREATE TABLE sessions (date TEXT PRIMARY KEY, open INTEGER NOT NULL, close INTEGER NOT NULL,"
    " first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, start_equity REAL NOT NULL,"
    " end_equity REAL NOT NULL) WITHOUT ROWID",
)

#: Yahoo's bars for the intervals the feed missed (:mod:`vibe_live.history.backfill`): a record for
#: charts and history, never an input of the engine.
_RECOVERED_BARS = (
    "CREATE TABLE recovered_bars (symbol TEXT NOT NULL, time INTEGER NOT NULL, open REAL NOT NULL,"
    " high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL,"
    " source TEXT NOT NULL, gap_start INTEGER NOT NULL, gap_end INTEGER NOT NULL,"
    " PRIMARY KEY (symbol, time)) WITHOUT ROWID",
)

_OUTBOX = (
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,"
    " kind TEXT NOT NULL, urgent INTEGER NOT NULL, created INTEGER NOT NULL, payload TEXT NOT NULL,"
    " parts_sent INTEGER NOT NULL DEFAULT 0, sent INTEGER, failed TEXT)",
    "CREATE INDEX outbox_pending ON outbox (channel, id) WHERE sent IS NULL AND failed IS NULL",
)

_GAPS = (
    "CREATE TABLE gaps (seq INTEGER NOT NULL, idx INTEGER NOT NULL, symbol TEXT NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL, reason TEXT NOT NULL, action TEXT NOT NULL,"
    " PRIMARY KEY (seq, idx)) WITHOUT ROWID",
)

_PRINT_CONDITIONS = (
    "CREATE TABLE print_conditions (seq INTEGER PRIMARY KEY, codes TEXT NOT NULL) WITHOUT ROWID",
)

#: Migration ``i`` takes a store from version ``i`` to ``i + 1``; append, never edit a released one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _RECOVERED_BARS, _OUTBOX, _GAPS, _PRINT_CONDITIONS)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the store at ``conn`` to ``len(migrations)`` in one transaction; returns the old version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) with no transaction open. A
    failing statement rolls the whole step back and raises :class:`StoreError`.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number in range(version, len(migrations)):
            for statement in migrations[number]:
                try:
                    conn.execute(statement)
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"{path}: migration {number + 1} failed on {statement.split('(')[0].strip()!r}: {exc}"
                    ) from exc
        if version < len(migrations):
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {len(migrations)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version
