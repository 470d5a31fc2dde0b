"""``vibe-live restore``: bring the latest copy of the store back from the sync target.

The copy is downloaded next to the store's path, then checked before anything is replaced: a
SQLite file, ``PRAGMA integrity_check`` ok, the vibe store's ``application_id``, a schema this vibe
knows. The store at the path is replaced by one ``rename`` while its writer's lock is held, so no
service can open it half-way; a store in use by a running service is never replaced, and one whose
log goes further than the copy's only with ``force``. The replaced store is kept beside it
(``<db>.replaced-<time>``) with its WAL, never deleted.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import attrs

from vibe_live.store_schema import APPLICATION_ID, SCHEMA_VERSION, StoreError
from vibe_live.sync_target import COPY_NAME, SyncError, Target, open_target

__all__ = ["CopyInfo", "Restored", "check_copy", "restore"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


@attrs.frozen
class CopyInfo:
    """What a checked copy holds."""

    schema: int
    last_seq: int
    last_ts: int  #: ns UTC of the last logged event (0 for an empty log)


@attrs.frozen
class Restored:
    source: str  #: the copy's URL
    db: Path
    size: int
    info: CopyInfo
    replaced: Path | None  #: where the store that was at ``db`` now is

    def describe(self) -> str:
        when = (
            dt.datetime.fromtimestamp(self.info.last_ts / 1e9, dt.UTC).isoformat(timespec="seconds")
            if self.info.last_ts
            else "an empty log"
        )
        kept = f"; the previous store is kept as {self.replaced}" if self.replaced else ""
        return (
            f"restored {self.source} ({self.size:,} bytes, store schema {self.info.schema}, "
            f"{self.info.last_seq} events logged, the last at {when}) to {self.db}{kept}"
        )


def check_copy(path: Path, label: str) -> CopyInfo:
    """Check the database at ``path`` is a whole vibe store this vibe can open; else :class:`StoreError`."""
    with path.open("rb") as f:
        head = f.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise StoreError(f"{label}: not a SQLite database (it starts with {head[:8]!r}); nothing replaced")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{label}: cannot open: {exc}; nothing replaced") from exc
    try:
        verdict = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            shown = "; ".join(verdict[:3]) + (f" (and {len(verdict) - 3} more)" if len(verdict) > 3 else "")
            raise StoreError(f"{label}: the copy is damaged (integrity_check: {shown}); nothing replaced")
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if app != APPLICATION_ID:
            raise StoreError(f"{label}: not a vibe store (application_id {app:#x}); nothing replaced")
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"{label}: written by a newer vibe (store schema {schema}, this vibe knows up to "
                f"{SCHEMA_VERSION}); upgrade vibe first; nothing replaced"
            )
        seq, ts = conn.execute("SELECT coalesce(max(seq), 0), coalesce(max(ts), 0) FROM events").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{label}: the copy is damaged ({exc}); nothing replaced") from exc
    finally:
        conn.close()
    return CopyInfo(schema=schema, last_seq=int(seq), last_ts=int(ts))


def _pick(target: Target, stem: str) -> str:
    """The copy to restore: the URL itself when it names one, else the newest (of ``stem`` if any)."""
    name = target.root.rsplit("/", 1)[-1]
    if COPY_NAME.match(name) or name.endswith(".db"):
        return ""
    copies = target.copies()
    if not copies:
        raise SyncError(f"{target.url}: no copies of a vibe store there (names like {stem}-<time>Z.db)")
    mine = target.copies(stem)
    return (mine or copies)[-1]


@contextmanager
def _writer_lock(db: Path) -> Iterator[None]:
    """The lock a writing :class:`~vibe_live.store.Store` takes: held, no service can open ``db``."""
    lock = db.with_name(db.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"{db}: in use by a running vibe-live (locked: {lock}); stop the service first"
            ) from None
        yield
    finally:
        os.close(fd)


def _existing(db: Path) -> CopyInfo | None:
    """The store at ``db`` (its WAL checkpointed into it), or None when there is none."""
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            seq, ts = conn.execute(
                "SELECT coalesce(max(seq), 0), coalesce(max(ts), 0) FROM events"
            ).fetchone()
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{db}: the store there cannot be read ({exc}); give --force to replace it anyway"
        ) from exc
    return CopyInfo(schema=schema, last_seq=int(seq), last_ts=int(ts))


def _move_aside(db: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = db.with_name(f"{db.name}.replaced-{stamp}")
    os.replace(db, aside)
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def restore(url: str, db: Path, *, endpoint_url: str = "", force: bool = False) -> Restored:
    """Fetch the latest copy at ``url`` (or the copy ``url`` names), check it, put it at ``db``."""
    db = Path(db)
    if db.is_dir():
        raise StoreError(f"{db}: is a directory, not a database file")
    target = open_target(url, endpoint_url)
    stem = db.name.removesuffix(".db")
    try:
        name = _pick(target, stem)
    except SyncError:
        raise
    except Exception as exc:
        raise SyncError(f"{url}: cannot list the copies: {type(exc).__name__}: {exc}") from exc
    source = target.path(name) if name else target.root
    shown = f"{url.rstrip('/')}/{name}" if name else url
    db.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=db.parent, prefix=f".{db.name}.restore-", suffix=".db")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            target.fs.get_file(source, str(tmp))
        except FileNotFoundError:
            raise SyncError(f"{shown}: no such copy") from None
        except Exception as exc:
            raise SyncError(f"{shown}: download failed: {type(exc).__name__}: {exc}") from exc
        info = check_copy(tmp, shown)
        with _writer_lock(db):
            replaced = None
            try:
                current = _existing(db)
            except StoreError:
                if not force:
                    raise
                current = None
            if current is not None and current.last_seq > info.last_seq and not force:
                raise StoreError(
                    f"{db}: holds {current.last_seq} events, more than the copy's {info.last_seq}: it is "
                    "newer than the copy; give --force to replace it anyway (it is kept beside it)"
                )
            if db.exists():
                replaced = _move_aside(db)
            os.replace(tmp, db)
            _fsync_dir(db.parent)
        return Restored(source=shown, db=db, size=db.stat().st_size, info=info, replaced=replaced)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
