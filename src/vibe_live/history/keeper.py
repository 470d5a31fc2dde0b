"""The service's history hook: warm-up before the first live data, archive and backfill after each close.

State: the ``data`` settings, the core's config, the session table, the Yahoo source, the time the
live data starts (set by the warm-up: sessions before it are history, not the service's own).
Consumes: the engine's state and the store at start; each "session closed" transition.
Emits: groups of warm-up events for the service to log and apply (``Journal.feed``, so a restart
replays them); log lines; ``Notify`` s to the service's notifier when Yahoo fails; archive files and
``recovered_bars`` rows.
Invariants: Yahoo is only reached from worker threads (``anyio.to_thread``, abandoned on
cancellation), never on the event loop; every failure is logged and notified, and the service goes
on without the history (an offline start runs without warm-up).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vibe_backtest.data import DataError
from vibe_backtest.sessions import cache_root
from vibe_backtest.yahoo import Downloader
from vibe_core.actions import Notify
from vibe_core.calendar import Session, SessionTable
from vibe_core.config import Config
from vibe_core.engine import EngineState, new_state
from vibe_core.events import Bar, Event
from vibe_core.types import Severity, Timeframe
from vibe_live.history.archive import append_archive, archived_until, built_bars, load_archive
from vibe_live.history.backfill import RECOVERED, Recovered, fetch_missing, record_recovered
from vibe_live.history.gaps import Gap, find_gaps
from vibe_live.history.source import Fetched, YahooHistory
from vibe_live.history.warmup import WARMUP_REASON, covered_end, warmup_bars, warmup_events, warmup_plan
from vibe_live.logs import LOGGER, iso
from vibe_live.service_store import last_pause
from vibe_live.settings import Settings
from vibe_live.store import Store

if TYPE_CHECKING:
    from vibe_live.service import Notifier

__all__ = ["HistoryKeeper", "make_history", "ARCHIVE_LOOKBACK"]

ARCHIVE_LOOKBACK = 10  #: sessions back a close looks for days not archived yet (a service down at a close)
_CHUNK = 2_000  #: warm-up events per commit
_M5 = Timeframe.M5.ns


def _log(event: str, level: int = logging.INFO, /, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


@attrs.define
class HistoryKeeper:
    """See the module docstring. ``until_ns`` fixes the first live instant (a feed-clock service)."""

    settings: Settings
    sessions: SessionTable
    yahoo: YahooHistory
    until_ns: int | None = None
    trade_source: str = "finnhub"  #: the source the engine stamps on bars made from prints
    live_from: int | None = None  #: the first live instant of this run (set by :meth:`warm_up`)
    _send: MemoryObjectSendStream[str] | None = attrs.field(default=None, init=False)
    _receive: MemoryObjectReceiveStream[str] | None = attrs.field(default=None, init=False)
    _scope: anyio.CancelScope | None = attrs.field(default=None, init=False)

    @property
    def config(self) -> Config:
        return self.settings.core

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.settings.core.symbols

    # -- warm-up -----------------------------------------------------------------------------

    async def warm_up(
        self, state: EngineState, store: Store, *, now_ns: int | None, notifier: Notifier | None
    ) -> AsyncIterator[list[Event]]:
        """The warm-up events in groups (log and apply each in turn); nothing when off or not needed."""
        until = self.until_ns if self.until_ns is not None else now_ns
        self.live_from = until
        paused_by_us = last_pause(store) == WARMUP_REASON
        if not self.settings.data.warmup or until is None:
            if paused_by_us:  # a warm-up cut short by a crash: its Pause ends here
                yield warmup_events(state, [], paused_by_warmup=True)
            _log("warm-up off", reason="data.warmup is false" if until is not None else "no start time")
            return
        plan = warmup_plan(self.config, self.sessions, until)
        start = max(plan.start_ns, _seen_end(store, state))
        end = covered_end(self.sessions, until)
        if end <= start:
            if paused_by_us:
                yield warmup_events(state, [], paused_by_warmup=True)
            _log("warm-up not needed", seen_until=iso(start), live_from=iso(until))
            return
        started = time.perf_counter()
        gather = functools.partial(self._gather, start, end, until)
        try:
            fetched, bars = await anyio.to_thread.run_sync(gather, abandon_on_cancel=True)
        except DataError as exc:  # a damaged cache or archive file: named, and the service goes on
            fetched, bars = Fetched({}, problem=str(exc)), []
        events = warmup_events(state, bars, paused_by_warmup=paused_by_us)
        if fetched.problem is not None:
            title = "Warm-up from the cache only" if bars else "Warm-up skipped: Yahoo unavailable"
            _log(
                title.lower(),
                logging.WARNING,
                problem=fetched.problem,
                attempts=fetched.attempts,
                cached_bars=len(bars),
                note="the service goes on" + ("" if bars else " with cold indicators"),
            )
            await _notify(
                notifier, until, Severity.WARNING, title, problem=fetched.problem, bars=str(len(bars))
            )
        missing = [s for s in self.symbols if not any(b.symbol == s for b in bars)]
        for i in range(0, len(events), _CHUNK):
            yield events[i : i + _CHUNK]
        if bars:
            _log(
                "warm-up done",
                bars=len(bars),
                symbols=len(self.symbols) - len(missing),
                first=iso(bars[0].ts),
                last=iso(bars[-1].ts),
                sessions=plan.sessions,
                sources=",".join(sorted({b.source for b in bars})),
                yahoo_calls=fetched.attempts,
                seconds=round(time.perf_counter() - started, 3),
                **({"without": ",".join(missing)} if missing else {}),
            )

    def _gather(self, start: int, end: int, until: int) -> tuple[Fetched, list[Bar]]:
        """Blocking: Yahoo's bars (cache first) and the archive's own, cut to the warm-up's span."""
        fetched = self.yahoo.fetch(self.symbols, since_ns=start, until_ns=until, covered_by=end)
        own = {}
        for symbol in self.symbols:
            archived = load_archive(self.yahoo.cache_dir, symbol, self.trade_source)
            if archived is not None:
                own[symbol] = archived
        bars = warmup_bars(fetched.bars, start_ns=start, until_ns=end, own=own, sessions=self.sessions)
        return fetched, bars

    # -- after each close ----------------------------------------------------------------------

    def _queue(self) -> None:
        """The queue between :meth:`closed` and :meth:`run`, made by whichever comes first."""
        if self._receive is None:
            self._send, self._receive = anyio.create_memory_object_stream[str](64)

    def closed(self, session_date: str | None) -> None:
        """A session closed: queue its archive and backfill for :meth:`run` (never blocks the caller)."""
        self._queue()
        if self._send is None or session_date is None:  # (stopped)
            return
        try:
            self._send.send_nowait(session_date)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            _log(
                "archive and backfill skipped",
                logging.WARNING,
                date=session_date,
                reason="queue full or closed",
            )

    async def run(self, store: Store, notifier: Notifier | None) -> None:
        """The service's history task: each closed session's archive and backfill, in order.

        Ends after :meth:`stop` once the queue is drained (``abandon``: at once, the work in progress
        is left; the next close archives the day again).
        """
        self._queue()
        receive = self._receive
        assert receive is not None
        try:
            async with receive:
                async for session_date in receive:
                    with anyio.CancelScope() as scope:
                        self._scope = scope
                        try:
                            await self.after_close(session_date, store, notifier)
                        except Exception as exc:  # (a damaged archive file...): said, and the service goes on
                            LOGGER.error(
                                "archive and backfill failed",
                                exc_info=True,
                                extra={
                                    "event": "archive and backfill failed",
                                    "fields": {"date": session_date},
                                },
                            )
                            await _notify(
                                notifier,
                                time.time_ns(),
                                Severity.WARNING,
                                "Archive and backfill failed",
                                error=str(exc),
                            )
                    self._scope = None
                    if scope.cancelled_caught:
                        _log(
                            "archive and backfill abandoned",
                            logging.WARNING,
                            date=session_date,
                            reason="shutdown",
                        )
                        return
        finally:
            self._receive = self._send = None  # a later run starts a queue of its own

    def stop(self, *, abandon: bool = False) -> None:
        """No more sessions: :meth:`run` ends after the queued ones (or at once with ``abandon``)."""
        self._queue()
        if self._send is not None:
            self._send.close()
            self._send = None
        if abandon and self._scope is not None:
            self._scope.cancel()

    async def after_close(self, session_date: str | None, store: Store, notifier: Notifier | None) -> None:
        """Archive the day's own bars (and those of earlier closes missed), then backfill the day's gaps
        after the live data began (sessions replayed by the warm-up: nothing)."""
        session = None if session_date is None else self.sessions.for_date(_date(session_date))
        if session is None or (self.live_from is not None and session.close <= self.live_from):
            return
        data = self.settings.data
        if data.archive:
            written = await anyio.to_thread.run_sync(
                self._archive, store.path, session, abandon_on_cancel=True
            )
            if written:
                _log("archived", date=session_date, bars=written, folder=f"5m-{self.trade_source}")
        if data.backfill_after_seconds > 0:
            await self._backfill(session, store, notifier)

    def _archive(self, db: Path, session: Session) -> int:
        cache = self.yahoo.cache_dir
        done = [archived_until(cache, s, self.trade_source) or 0 for s in self.symbols]
        i = self.sessions.last_index_at_or_before(session.open)
        days = [
            d for d in self.sessions.sessions[max(0, i - ARCHIVE_LOOKBACK + 1) : i + 1] if d.close > min(done)
        ]
        bars = [
            b
            for d in days
            for b in built_bars(db, self.sessions, d.open, d.close, trade_source=self.trade_source)
        ]
        bars = [b for b in bars if b.symbol in self.symbols]
        return sum(append_archive(cache, self.trade_source, bars).values()) if bars else 0

    async def _backfill(self, session: Session, store: Store, notifier: Notifier | None) -> None:
        limit = self.settings.data.backfill_after_seconds
        gaps = await anyio.to_thread.run_sync(
            find_gaps, store.path, session, self.symbols, limit, abandon_on_cancel=True
        )
        if self.live_from is not None:  # before the service ran is not a feed gap (the warm-up's)
            begun = [(s, max(a, self.live_from), b) for s, a, b in gaps]
            gaps = [(s, a, b) for s, a, b in begun if b - a > limit * 1_000_000_000]
        await self.backfill(gaps, store, notifier, ts=session.close)

    async def backfill(
        self, gaps: Sequence[Gap], store: Store, notifier: Notifier | None, *, ts: int
    ) -> Recovered:
        """Fetch, record and archive the bars of ``gaps`` ``(symbol, start_ns, end_ns)``; log, and
        notify when Yahoo failed (``ts``: the notification's time). Any gap source can drive it."""
        if not gaps:
            return Recovered(gaps=())
        recovered: Recovered = await anyio.to_thread.run_sync(
            fetch_missing, self.yahoo, gaps, abandon_on_cancel=True
        )
        written = record_recovered(store, recovered)
        if recovered.bars:
            await anyio.to_thread.run_sync(
                append_archive, self.yahoo.cache_dir, RECOVERED, [b for _, b in recovered.bars]
            )
        fields = {
            "from": iso(min(g[1] for g in gaps)),
            "to": iso(max(g[2] for g in gaps)),
            "gaps": len(gaps),
            "recovered": written,
            "symbols": ",".join(sorted({g[0] for g in gaps})),
        }
        if recovered.problem is None:
            _log("backfill done", **fields)
            return recovered
        _log(
            "backfill incomplete",
            logging.WARNING,
            problem=recovered.problem,
            gaps_without_bars=recovered.missing,
            **fields,
        )
        await _notify(
            notifier,
            ts,
            Severity.WARNING,
            "Backfill incomplete: Yahoo unavailable",
            problem=recovered.problem,
            gaps=str(len(gaps)),
            recovered=str(written),
        )
        return recovered


def _seen_end(store: Store, state: EngineState) -> int:
    """After everything the engine has seen: its time, and the end of the last logged input bar."""
    with store._errors("read the log"):
        row = store._db.execute("SELECT max(ts) FROM events WHERE kind IN ('Bar', 'BarSlice')").fetchone()
    last_bar = -1 if row[0] is None else int(row[0]) + _M5
    return max(state.now, last_bar)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


async def _notify(notifier: Notifier | None, ts: int, severity: Severity, title: str, **fields: str) -> None:
    if notifier is not None:  # a local commit (the notifier's outbox), never a wait on the network
        notifier.notice(Notify(ts=ts, severity=severity, title=title, fields=tuple(fields.items())))


def make_history(
    settings: Settings,
    sessions: SessionTable,
    *,
    downloader: Downloader | None = None,
    until_ns: int | None = None,
) -> HistoryKeeper:
    """The keeper for ``settings.data`` (cache folder, retries, timeout); ``downloader``: a fake in tests."""
    data = settings.data
    cache = Path(data.cache_dir) if data.cache_dir else cache_root() / "yahoo"
    yahoo = YahooHistory(
        cache,
        sessions,
        downloader=downloader,
        timeout=data.yahoo_timeout_s,
        retries=data.yahoo_retries,
        backoff=data.yahoo_backoff_s,
    )
    source = new_state(settings.core, sessions).bars.trade_source
    return HistoryKeeper(
        settings=settings, sessions=sessions, yahoo=yahoo, until_ns=until_ns, trade_source=source
    )
