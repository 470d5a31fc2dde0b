"""Cloud sync: a consistent copy of the store every ``sync.every_minutes`` and at shutdown.

A copy is taken with SQLite's online backup API from a connection of its own (never the service's,
never a raw file copy: a file copy of a database in WAL mode misses the WAL or catches a page
half-written) into a temporary file next to the store, in one step, so it is the database as of
one committed transaction; in WAL mode that read never blocks the service's writes. The copy is
switched to a rollback journal (one self-contained file), then uploaded through fsspec
(:mod:`vibe_live.sync_target`) under a timestamped name, and the copies beyond ``sync.keep`` are
deleted. All of that runs in a worker thread (``anyio.to_thread``): the trading loop goes on. A
periodic round sends nothing when neither the log nor the snapshots moved since the last copy (a
closed market), so the copies kept are not a weekend's identical ones.

Failures never stop trading: an upload is retried ``sync.retries`` times, waiting
``sync.retry_backoff_s`` and doubling; a round that still fails is logged and counted in
:class:`SyncStatus` (which the API reads) and the next round tries again. At shutdown the service
calls :meth:`Syncer.final` after its last snapshot, bounded by what is left of its stop budget
(``service.shutdown_timeout_s``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import anyio
import attrs

from vibe_live.logs import LOGGER
from vibe_live.settings import Settings, SyncSettings
from vibe_live.store_schema import APPLICATION_ID
from vibe_live.sync_target import SyncError, Target, copy_name, open_target

__all__ = ["SyncStatus", "Syncer", "backup_copy", "fingerprint", "make_syncer"]


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


@attrs.define
class SyncStatus:
    """What the sync did so far: read by the API (``/api/metrics/health``, ``/metrics``)."""

    enabled: bool
    target: str
    copies: int = 0  #: rounds that ended with a copy at the target
    skipped: int = 0  #: periodic rounds skipped: nothing logged since the last copy (a closed market)
    failures: int = 0  #: rounds that ended without one (after their retries)
    retries: int = 0  #: upload attempts that failed and were retried
    consecutive_failures: int = 0
    last_copy: str | None = None  #: name of the latest copy sent
    last_ok_at: str | None = None  #: ISO 8601 UTC of the latest copy sent
    last_bytes: int = 0
    last_seconds: float = 0.0  #: copy + upload time of the latest copy sent
    last_error: str | None = None
    last_error_at: str | None = None


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def fingerprint(db: Path) -> tuple[int, int]:
    """The last logged event and the last snapshot: unchanged, the store holds nothing new."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT coalesce(max(seq), 0) FROM snapshots)"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0]), int(row[1])


def backup_copy(db: Path, dest: Path) -> int:
    """Copy the store ``db`` to ``dest`` (a new file) with the online backup API; returns its size.

    The copy is one consistent state (the backup copies every page in one step under a read
    transaction) in rollback-journal mode, checked to carry the vibe store's application id.
    """
    source = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)  # pages=-1: all in one step
            target.execute("PRAGMA journal_mode = DELETE")
            app = int(target.execute("PRAGMA application_id").fetchone()[0])
        finally:
            target.close()
    finally:
        source.close()
    if app != APPLICATION_ID:
        raise SyncError(f"{db}: not a vibe store (application_id {app:#x}); nothing sent")
    return dest.stat().st_size


class Syncer:
    """The periodic and final copies of the store at ``db`` to ``settings.url``."""

    def __init__(self, settings: SyncSettings, db: Path) -> None:
        self.settings, self.db = settings, Path(db)
        self.stem = self.db.name.removesuffix(".db")
        self.status = SyncStatus(enabled=True, target=settings.url)
        self._target: Target | None = None
        self._sent_state: tuple[int, int] | None = None  #: the fingerprint of the latest copy sent
        self._lock = anyio.Lock()

    @property
    def interval(self) -> float:
        return self.settings.every_minutes * 60.0

    async def run(self) -> None:
        """Copy every ``interval`` seconds, forever (the service cancels it)."""
        _log("sync on", target=self.settings.url, every=f"{self.settings.every_minutes:g} min")
        with contextlib.suppress(OSError):
            for stale in self.db.parent.glob(f".{self.db.name}.sync-*"):  # left by a killed process
                stale.unlink(missing_ok=True)
        while True:
            await anyio.sleep(self.interval)
            await self.sync_once("periodic")

    async def final(self, budget: float) -> bool:
        """The shutdown copy, given at most ``budget`` seconds; True when it reached the target."""
        if budget <= 0:
            self._failed("shutdown", "no time left in the stop budget")
            return False
        with anyio.move_on_after(budget) as scope:
            return await self.sync_once("shutdown")
        if scope.cancelled_caught:
            self._failed("shutdown", f"cut short after {budget:.1f} s (service.shutdown_timeout_s)")
        return False

    async def sync_once(self, reason: str) -> bool:
        """One round: copy, upload (with retries), prune. True when the target holds the store's
        current state (a periodic round skips the upload when nothing was logged since the last copy)."""
        async with self._lock:
            try:
                return await self._round(reason)
            except Exception as exc:  # never fatal: anything unforeseen is a failed round
                self._failed(reason, f"{type(exc).__name__}: {exc}")
                return False

    async def _round(self, reason: str) -> bool:
        started = time.perf_counter()
        try:
            state = await anyio.to_thread.run_sync(fingerprint, self.db, abandon_on_cancel=True)
        except sqlite3.Error as exc:
            self._failed(reason, f"cannot read {self.db}: {exc}")
            return False
        if reason == "periodic" and state == self._sent_state:
            self.status.skipped += 1
            return True
        local: Path | None = None
        try:
            try:
                fd, name = tempfile.mkstemp(dir=self.db.parent, prefix=f".{self.db.name}.sync-", suffix=".db")
                os.close(fd)
                local = Path(name)
                local.unlink()  # the backup writes a fresh database file
                size = await anyio.to_thread.run_sync(backup_copy, self.db, local, abandon_on_cancel=True)
            except (OSError, sqlite3.Error, SyncError) as exc:
                self._failed(reason, f"copy failed: {exc}")
                return False
            name = copy_name(self.stem, dt.datetime.now(dt.UTC))
            if not await self._upload(local, name, reason):
                return False
            self._sent(name, size, time.perf_counter() - started, reason)
            self._sent_state = state
            await self._prune()
            return True
        finally:
            if local is not None:
                local.unlink(missing_ok=True)

    async def _upload(self, local: Path, name: str, reason: str) -> bool:
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                with anyio.fail_after(self.settings.timeout_s):
                    await anyio.to_thread.run_sync(
                        functools.partial(self._put, local, name), abandon_on_cancel=True
                    )
                return True
            except Exception as exc:
                error = _describe(exc)
                if attempt == attempts:
                    self._failed(reason, f"upload of {name} failed {attempts} times; last: {error}")
                    return False
                wait = self.settings.retry_backoff_s * 2 ** (attempt - 1)
                self.status.retries += 1
                _log(
                    "sync retry", logging.WARNING, copy=name, attempt=attempt, error=error, wait=f"{wait:g} s"
                )
                await anyio.sleep(wait)
        return False  # pragma: no cover (the loop returns)

    def _put(self, local: Path, name: str) -> None:
        if self._target is None:
            self._target = open_target(
                self.settings.url, self.settings.endpoint_url, timeout_s=self.settings.timeout_s
            )
        self._target.put(local, name)

    async def _prune(self) -> None:
        target = self._target
        if target is None:
            return
        try:
            with anyio.fail_after(self.settings.timeout_s):
                removed = await anyio.to_thread.run_sync(
                    functools.partial(target.prune, self.stem, self.settings.keep), abandon_on_cancel=True
                )
        except Exception as exc:
            _log("sync prune failed", logging.WARNING, target=self.settings.url, error=_describe(exc))
            return
        if removed:
            _log("sync pruned", removed=len(removed), kept=self.settings.keep)

    def _sent(self, name: str, size: int, seconds: float, reason: str) -> None:
        status = self.status
        status.copies += 1
        status.consecutive_failures = 0
        status.last_copy, status.last_ok_at = name, _now_iso()
        status.last_bytes, status.last_seconds = size, round(seconds, 3)
        _log(
            "synced", reason=reason, copy=name, bytes=size, seconds=f"{seconds:.2f}", target=self.settings.url
        )

    def _failed(self, reason: str, error: str) -> None:
        status = self.status
        status.failures += 1
        status.consecutive_failures += 1
        status.last_error, status.last_error_at = error, _now_iso()
        _log(
            "sync failed",
            logging.ERROR,
            reason=reason,
            target=self.settings.url,
            error=error,
            failures=status.failures,
            note="trading goes on; the next round tries again",
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, SyncError) else text


def make_syncer(settings: Settings, db: Path) -> Syncer | None:
    """The service's syncer, or None when ``features.enable_cloud_sync`` is off."""
    if not settings.features.enable_cloud_sync:
        return None
    return Syncer(settings.sync, db)
