"""The live service: one anyio task group, feed -> log -> ``step`` -> action dispatch.

State: the :class:`~vibe_live.recovery.Journal` (engine + store), the read model :attr:`LiveService.view`
(swapped once per step of the loop: one frame, or one ``Clock``), the resume position.
Consumes: frames of prints (and of feed status) from a :class:`~vibe_live.feeds.MarketFeed`, SIGTERM/SIGINT.
Emits: log lines (one per order, fill, trade, halt, signal, session transition), each step's
actions (with their log positions) to a :class:`Notifier` (Discord: :mod:`vibe_live.notify`), and
the store's log, read rows and snapshots.
Invariants: every input event is committed before it is applied (one transaction per frame, or per
small batch of a fast replay's frames between which no ``Clock`` can fall);
tasks talk through bounded memory streams; no task outlives :meth:`LiveService.run`.

Time. ``clock="feed"``: time is the prints'; before each frame the service sends a ``Clock`` at
every ``next_deadline(state)`` strictly before the frame's time, and after the last frame the
remaining deadlines through the data's last session close, so a replay is the same computation as
a backtest of the same bars. ``clock="wall"``: the step task waits for the next frame or for the
core's next deadline (+ ``service.clock_grace_ms``, so prints of the instant come first), whichever
comes first, and then sends ``Clock(ts=deadline)``; it never polls. Outside market hours it says
until when it sleeps; a replay (:class:`~vibe_live.clock.ReplayClock`) skips the closed hours.

Feed status. A feed reports its connection as frames of their own, ``[FeedStatus(...)]``; each is
logged alone (never batched with prints), stamped with the service's time: with ``clock="feed"``
the core's time (no feed time passes while the feed is down, and no ``Clock`` is sent before it),
with ``clock="wall"`` the wall time, never before the core's. ``self.prints`` (the resume position
of a replay) counts prints only. A frame carrying trade conditions (:class:`PrintFrame`) has them
logged in the same commit.

Shutdown (first signal): intake stops between frames, then, when
``service.close_positions_on_shutdown``, a logged ``CloseAll`` cancels the working orders and sends
the flatten orders (they fill at the next print, after a restart, or at the session's close), then a
final snapshot, then (``features.enable_cloud_sync``) the final copy of the store
(:mod:`vibe_live.sync`) within what is left of ``service.shutdown_timeout_s``; then the notifier says
so and sends what it holds (bounded by ``notifications.drain_grace_s``). A second signal exits at
once (the log is whole: a restart recovers).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Literal, NoReturn, Protocol, cast

import anyio
import attrs
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectReceiveStream

from vibe_core.actions import Action, Notify
from vibe_core.calendar import SessionTable
from vibe_core.config import Config
from vibe_core.engine import new_state, next_deadline
from vibe_core.events import Clock, CloseAll, Event, FeedStatus, Pause, Resume, Trade
from vibe_core.snapshot import EngineSnapshot, read_model
from vibe_core.types import Timeframe
from vibe_live.clock import ReplayClock, ServiceClock
from vibe_live.commands import CommandInbox, command_event
from vibe_live.feeds import Frame, MarketFeed, PrintFrame
from vibe_live.framestream import CHUNK, FrameStream
from vibe_live.framestream import frames as feed_frames
from vibe_live.logs import LOGGER, iso, log_actions
from vibe_live.recovery import Journal
from vibe_live.service_store import check_feed, install_kill_hook, last_pause, logged_prints
from vibe_live.settings import Settings
from vibe_live.store import Store
from vibe_live.sync import make_syncer

if TYPE_CHECKING:
    from vibe_live.history import HistoryKeeper

__all__ = ["LiveService", "Notifier", "ClockMode", "MakeFeed", "Companion", "StepHook"]

ClockMode = Literal["feed", "wall"]
_Sourced = list[tuple[int, Event, list[Action]]]  #: (seq, event, actions) of the events with actions
_Out = tuple[EngineSnapshot, _Sourced, str | None]
_M5 = Timeframe.M5.ns
_FAR = 1 << 62


#: called after each step: its events, ``(seq, actions)`` per event, the seconds it took
StepHook = Callable[[Sequence[Event], list[tuple[int, list[Action]]], float], None]


class Companion(Protocol):
    """A task beside the service (the API): started before the feed, stopped after the final snapshot."""

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = ...) -> None: ...
    async def stop(self) -> None: ...


class Notifier(Protocol):
    """Where the service's news go (:class:`vibe_live.notify.DiscordNotifier`).

    The hooks only commit locally (never wait on the network); :meth:`run` is the sending task.
    """

    def started(self, *, seq: int, mode: str, symbols: Sequence[str], resume: str) -> None: ...

    def record(self, sourced: _Sourced, view: EngineSnapshot, transition: str | None) -> None: ...

    def stopped(self, *, reason: str, seq: int, view: EngineSnapshot | None) -> None: ...

    def failed(self, *, seq: int, error: BaseException) -> None: ...

    def notice(self, action: Notify) -> None:
        """A notice of the shell's own (Yahoo unavailable, backfill incomplete...), not of a step."""
        ...

    async def run(self) -> None: ...

    async def drain(self, grace: float | None = None) -> int: ...


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


def _exit(event: str, code: int, **fields: object) -> NoReturn:
    """Leave at once (the log is whole: the next start recovers)."""
    _log(event, logging.WARNING, **fields)
    logging.shutdown()
    os._exit(code)


class LiveService:
    """The service over ``store``; :meth:`run` until the feed ends or a signal stops it."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        sessions: SessionTable,
        make_feed: MakeFeed,
        *,
        feed_label: str,
        clock_mode: ClockMode = "wall",
        clock: ServiceClock | None = None,
        last_close: int | None = None,
        paced_from: int | None = None,
        dry_run: bool = False,
        notifier: Notifier | None = None,
        history: HistoryKeeper | None = None,
    ) -> None:
        """Recover from ``store`` (latest snapshot + later events), then bind the feed.

        ``make_feed(skip)`` makes the feed resuming after ``skip`` logged prints. ``last_close``:
        a replay's last session close (the deadlines through it are sent at the end of the data).
        ``paced_from``: a wall-clock replay plays the frames before this time as fast as possible, as
        with ``clock="feed"`` (the warm-up sessions), and paces the rest. ``history``: Yahoo warm-up
        before the first live data, archive and backfill after each close (:mod:`vibe_live.history`).
        """
        if clock_mode == "wall" and clock is None:
            raise ValueError("clock='wall' needs a clock")
        self.settings, self.store, self.sessions = settings, store, sessions
        self.clock_mode, self.clock, self.last_close = clock_mode, clock, last_close
        self.paced_from = paced_from
        self.dry_run, self.history = dry_run, history
        on = settings.features.enable_notifications and settings.notifications.enabled
        self.notifier = notifier if on else None
        check_feed(store, feed_label)
        install_kill_hook(store)
        core: Config = settings.core
        started = time.perf_counter()
        self.journal = Journal.resume(
            store, lambda: new_state(core, sessions), snapshot_every=settings.storage.snapshot_every
        )
        self.recovery_seconds = time.perf_counter() - started
        self.resumed_at = self.journal.last_seq
        self.prints = logged_prints(store) if self.resumed_at else 0
        self.feed: MarketFeed = make_feed(self.prints)
        self.feed_label = feed_label
        self._view: EngineSnapshot | None = None
        self._session = (self.journal.state.session_index, self.journal.state.session_closed)
        self.stopping = False
        self._stop_started: float | None = None
        self.sync = make_syncer(settings, store.path)  #: None unless features.enable_cloud_sync
        self.stop_reason = "feed ended"
        self._intake: anyio.CancelScope | None = None
        self._warming: anyio.CancelScope | None = None
        self._grace = settings.service.clock_grace_ms * 1_000_000
        self._slept_for = -1
        delay = settings.core.exchange.fill_model().fill_delay_ms_max
        self._max_batch = settings.service.max_batch if delay == 0 else 1
        self.commands = CommandInbox()  #: operator commands, applied by the step task between steps
        self.on_step: list[StepHook] = []  #: sync, after each step (metrics, the API's update stream)
        self.companions: list[Companion] = []  #: e.g. the API server (vibe_live.api.live.attach_api)

    @property
    def view(self) -> EngineSnapshot:
        """The core's frozen read model after the last step (a frame, or a Clock, or a command).

        Swapped once per step: built on the first read after a step, then the same object until the
        next step (readers run on the service's event loop, so none sees a state half-way through).
        """
        if self._view is None:
            self._view = read_model(self.journal.state)
        return self._view

    # -- the task group ----------------------------------------------------------------------

    async def run(self) -> None:
        """Run until the feed is exhausted (a replay) or a signal arrives; then snapshot."""
        size = self.settings.service.queue_size
        frames_in, frames_out = anyio.create_memory_object_stream[list[Frame]](size)
        out_in, out_out = anyio.create_memory_object_stream[_Out](size)
        self._intake = anyio.CancelScope()
        if self.stopping:
            self._intake.cancel()
        if self.notifier is not None:
            self.notifier.started(
                seq=self.journal.last_seq,
                mode=self._mode(),
                symbols=self.settings.core.symbols,
                resume=self._resume(),
            )
        try:
            await self._run(frames_in, frames_out, out_in, out_out)
        except Exception as exc:
            if self.notifier is not None:
                self.notifier.failed(seq=self.journal.last_seq, error=exc)
                await self.notifier.drain()
            raise
        _log("stopped", seq=self.journal.last_seq, prints=self.prints, snapshot=self.journal.last_seq)

    async def _run(
        self,
        frames_in: ObjectSendStream[list[Frame]],
        frames_out: MemoryObjectReceiveStream[list[Frame]],
        out_in: ObjectSendStream[_Out],
        out_out: ObjectReceiveStream[_Out],
    ) -> None:
        scope = self._intake
        assert scope is not None
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._watch_signals)
            if self.sync is not None:
                outer.start_soon(self.sync.run)
            if self.notifier is not None:
                outer.start_soon(self.notifier.run)
            async with anyio.create_task_group() as inner:
                inner.start_soon(self._dispatch, out_out)
                if self.history is not None:
                    inner.start_soon(self.history.run, self.store, self._notifier())
                async with out_in:
                    await self._start(out_in)
                    for companion in self.companions:  # up before the first frame
                        await outer.start(companion.run)
                    with scope:
                        async with anyio.create_task_group() as intake:
                            intake.start_soon(self._feed_task, frames_in)
                            await self._step_task(FrameStream(frames_out), out_in)
                    self.commands.close()
                    if self.stopping:
                        await self._shutdown(out_in)
                    self.journal.snapshot()
            if self.sync is not None:
                await self.sync.final(self._stop_budget())
            if self.notifier is not None:
                self.notifier.stopped(reason=self.stop_reason, seq=self.journal.last_seq, view=self.view)
                await self.notifier.drain()
            for companion in self.companions:
                await companion.stop()
            outer.cancel_scope.cancel()

    def stop(self, reason: str = "requested") -> None:
        """Stop intake (between frames) and shut down as on SIGTERM."""
        if not self.stopping:
            self.stopping = True
            self._stop_started = time.perf_counter()
            self.stop_reason = reason
            _log("shutdown", reason=reason, seq=self.journal.last_seq)
            if self._intake is not None:
                self._intake.cancel()
            if self._warming is not None:
                self._warming.cancel()

    def _stop_budget(self) -> float:
        """Seconds left for the final copy: the stop budget less the shutdown so far, less a margin."""
        spent = 0.0 if self._stop_started is None else time.perf_counter() - self._stop_started
        return self.settings.service.shutdown_timeout_s - spent - 0.5

    async def _watch_signals(self) -> None:
        """First signal: shut down (within ``service.shutdown_timeout_s``, else exit 1); second: exit now."""
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if self.stopping:
                    _exit("second signal: exiting at once", 130, signal=name)
                self.stop(name)
                break
            with anyio.move_on_after(self.settings.service.shutdown_timeout_s):
                async for signum in signals:
                    _exit("second signal: exiting at once", 130, signal=signal.Signals(signum).name)
            _exit("shutdown took too long: exiting", 1, seconds=self.settings.service.shutdown_timeout_s)

    async def _start(self, out: ObjectSendStream[_Out]) -> None:
        state = self.journal.state
        paused = last_pause(self.store) if self.resumed_at else None
        if self.dry_run and paused != "dry-run":
            await self._apply([Pause(ts=state.now, reason="dry-run")], out)
        elif not self.dry_run and paused == "dry-run":
            await self._apply([Resume(ts=state.now)], out)
        if self.history is not None and not self.stopping:  # logged Bars: a restart replays them
            now = (
                self.clock.now()
                if self.clock is not None and not isinstance(self.clock, ReplayClock)
                else None
            )
            with anyio.CancelScope() as self._warming:  # a signal abandons a slow Yahoo
                async for group in self.history.warm_up(
                    state, self.store, now_ns=now, notifier=self._notifier()
                ):
                    await self._apply(group, out)
        _log(
            "started",
            db=str(self.store.path),
            mode=self._mode(),
            symbols=",".join(self.settings.core.symbols),
            resume=self._resume(),
        )

    def _mode(self) -> str:
        return f"{self.feed_label} clock={self.clock_mode}" + (" dry-run" if self.dry_run else "")

    def _resume(self) -> str:
        if not self.resumed_at:
            return "new log"
        return f"seq {self.resumed_at} (prints {self.prints}, recovered in {self.recovery_seconds:.2f} s)"

    # -- feed -> step ------------------------------------------------------------------------

    async def _feed_task(self, send: ObjectSendStream[list[Frame]]) -> None:
        """Frames to the step task: one at a time, or in chunks from an unpaced replay (a burst)."""
        async with send:
            clock = self.clock if isinstance(self.clock, ReplayClock) else None
            burst = clock is None and getattr(self.feed, "speed", False) is None
            prev: int | None = None  # the last paced frame's time
            chunk: list[Frame] = []
            # closed in this task even when cancelled: a live feed holds a connection (a task group)
            async with aclosing(feed_frames(self.feed)) as stream:
                async for frame in stream:
                    ts = frame[0].ts
                    if clock is not None and (self.paced_from is None or ts >= self.paced_from):
                        clock.anchor(ts)
                        await self._pace(clock, prev, ts)
                        prev = ts
                    chunk.append(frame)
                    if not burst or len(chunk) >= CHUNK:
                        await send.send(chunk)
                        chunk = []
            if chunk:
                await send.send(chunk)

    async def _pace(self, clock: ReplayClock, prev: int | None, ts: int) -> None:
        """Sleep until the frame's feed time; across a closed market, skip ahead after the close."""
        before = None if prev is None else self.sessions.session_at(prev)
        after = self.sessions.session_at(ts)
        if before is not None and (after is None or after.date != before.date):
            await anyio.sleep(max(clock.seconds_until(before.close + self._grace), 0.0) + 0.02)
            _log("market closed", until=iso(ts), note="replay skips the closed hours")
            clock.jump(ts)
        await anyio.sleep(max(clock.seconds_until(ts), 0.0))

    async def _step_task(self, frames: FrameStream, out: ObjectSendStream[_Out]) -> None:
        async with frames:
            pending: Frame | None = None
            exhausted = True
            if self.clock_mode == "feed" or self.paced_from is not None:
                warm = 0
                async for frame in self._frames(frames, out):
                    if type(frame[0]) is FeedStatus:  # no feed time passes: no Clock before it
                        await self._apply(frame, out)
                        continue
                    if (
                        self.clock_mode == "wall"
                        and self.paced_from is not None
                        and frame[0].ts >= self.paced_from
                    ):
                        pending, exhausted = frame, False
                        break
                    await self._clocks_before(frame[0].ts, out)
                    await self._apply(self._batch(frame, frames), out)
                    warm += 1
                if pending is not None and warm:
                    _log(
                        "warm-up done", prints=self.prints, paced_from=iso(self.paced_from or 0), note="fast"
                    )
            if self.clock_mode == "wall" and (
                pending is not None or not exhausted or self.paced_from is None
            ):
                if pending is not None:
                    await self._clocks_before(pending[0].ts, out)
                    await self._apply(pending, out)
                await self._wall_loop(frames, out)
        if self.last_close is not None:  # the data is exhausted: the last session's close
            await self._clocks_before(self.last_close + 1, out)
            _log(
                "replay finished",
                prints=self.prints,
                seq=self.journal.last_seq,
                last_close=iso(self.last_close),
            )

    async def _frames(self, frames: FrameStream, out: ObjectSendStream[_Out]) -> AsyncIterator[Frame]:
        """The frames, with the operator's commands applied between them and while waiting for one."""
        while True:
            if len(self.commands):
                await self._run_commands(out)
            if frames.buffered:  # a burst: no wait, no scope
                yield frames.take()
                continue
            frame: Frame | None = None
            with self.commands.wake_scope():
                try:
                    frame = await frames.next()
                except anyio.EndOfStream:
                    return
            if frame is not None:
                yield frame

    async def _run_commands(self, out: ObjectSendStream[_Out]) -> None:
        """Log and apply each waiting command as its own step, after the deadlines before its time (as
        :func:`vibe_live.replaying.replay_into` feeds them); answer it with its log position."""
        for command in self.commands.take():
            now = self.journal.state.now
            if self.clock is not None and self.clock_mode == "wall":
                now = max(now, self.clock.now())
            await self._clocks_before(now, out)
            await self._apply([command_event(command, now, time.time_ns())], out)
            command.answer(self.journal.last_seq)

    def _batch(self, frame: Frame, frames: FrameStream) -> Sequence[Event]:
        """``frame`` plus the buffered frames that may share its commit (a fast replay's small batch).

        A frame joins only when no ``Clock`` could be due before it: it lies in the same 5m interval
        as ``frame`` (the bars the batch's prints open end after it), at or before the core's next
        deadline, with no fill delay at the venue (an order's activation would be a deadline).
        """
        if self._max_batch <= 1 or type(frame[0]) is not Trade or frames.peek() is None:
            return frame
        deadline = next_deadline(self.journal.state)
        end = min(frame[0].ts // _M5 * _M5 + _M5, _FAR if deadline is None else deadline + 1)
        if self.clock_mode == "wall" and self.paced_from is not None:
            end = min(end, self.paced_from)
        batch = list(frame)
        first: list[tuple[str, ...]] | None = getattr(frame, "conditions", None)
        codes = None if first is None else list(first)
        for _ in range(self._max_batch - 1):
            following = frames.peek()
            # (a live frame's rows need not be in time order: every one must be before the end)
            if following is None or any(type(e) is not Trade or e.ts >= end for e in following):
                break
            if codes is not None:
                codes += getattr(following, "conditions", None) or [()] * len(following)
            batch += frames.take()
        return batch if codes is None else PrintFrame(cast("list[Trade]", batch), codes)

    async def _clocks_before(self, end: int, out: ObjectSendStream[_Out]) -> None:
        """A ``Clock`` at every deadline strictly before ``end`` (feed time); none before the first event."""
        if self.journal.state.now == 0:
            return
        while (deadline := next_deadline(self.journal.state)) is not None and deadline < end:
            await self._apply([Clock(ts=deadline)], out)
            _check_progress(deadline, self.journal)

    async def _wall_loop(self, frames: FrameStream, out: ObjectSendStream[_Out]) -> None:
        clock = self.clock
        assert clock is not None
        if self.journal.state.now == 0 and not isinstance(clock, ReplayClock):
            await self._apply([Clock(ts=clock.now())], out)  # live, fresh log: time starts now
        while True:
            if len(self.commands):
                await self._run_commands(out)
            deadline = next_deadline(self.journal.state) if self.journal.state.now else None
            wait = math.inf if deadline is None else clock.seconds_until(deadline + self._grace)
            self._say_if_closed(deadline, wait)
            frame: Frame | None = None
            if wait > 0:
                with anyio.move_on_after(wait), self.commands.wake_scope() as wake:
                    try:
                        frame = await frames.next()
                    except anyio.EndOfStream:
                        return
                if frame is None and wake.cancel_called:
                    continue  # a command arrived: apply it first
            if frame is not None:
                await self._apply(frame, out)
            elif deadline is not None:
                await self._apply([Clock(ts=deadline, ts_recv=time.time_ns())], out)
                _check_progress(deadline, self.journal)

    def _say_if_closed(self, deadline: int | None, wait: float) -> None:
        state = self.journal.state
        if deadline is None or not state.session_closed or deadline == self._slept_for:
            return
        if isinstance(self.clock, ReplayClock) or wait < 60:
            return
        self._slept_for = deadline
        _log("market closed", until=iso(deadline), sleeping=f"{wait / 3600:.1f} h")

    async def _apply(self, events: Sequence[Event], out: ObjectSendStream[_Out]) -> None:
        """Log ``events`` (one commit), step them, record their actions; swap the read model."""
        started = time.perf_counter()
        if events and type(events[0]) is FeedStatus:
            events = [self._stamp(e) if isinstance(e, FeedStatus) else e for e in events]
        codes = getattr(events, "conditions", None)  # (a Finnhub frame: its prints' trade conditions)
        if codes:
            conditions = [(i, _codes_text(c)) for i, c in enumerate(codes) if c]
            results = self.journal.feed(events, conditions=conditions)
        else:
            results = self.journal.feed(events)
        self._view = None
        for hook in self.on_step:
            hook(events, results, time.perf_counter() - started)
        state = self.journal.state
        if events and type(events[0]) is Trade:
            self.prints += sum(1 for e in events if type(e) is Trade)
        sourced = [
            (seq, event, acts)
            for (seq, acts), event in zip(results, events, strict=True)
            if acts or isinstance(event, FeedStatus)
        ]
        transition = None
        session = (state.session_index, state.session_closed)
        if session != self._session:
            self._session = session
            transition = "session closed" if state.session_closed else "session open"
        if sourced or transition:
            await out.send((self.view, sourced, transition))

    def _stamp(self, status: FeedStatus) -> FeedStatus:
        """A connection change at the service's time: feed clock, the core's time (no feed time passes
        while the feed is down); wall clock, the wall time, never before the core's time."""
        now = self.journal.state.now
        if self.clock_mode == "wall" and self.clock is not None:
            now = max(now, self.clock.now())
        _log("feed status", logging.DEBUG, connected=status.connected, reason=status.reason, time=now)
        return attrs.evolve(status, ts=now)

    async def _shutdown(self, out: ObjectSendStream[_Out]) -> None:
        with anyio.CancelScope(shield=True):
            view = self.view
            if not self.settings.service.close_positions_on_shutdown:
                if view.working_orders:
                    _log("working orders kept", orders=len(view.working_orders), note="resumed on restart")
                return
            if view.positions or view.working_orders:
                now = self.journal.state.now
                if self.clock is not None and self.clock_mode == "wall":
                    now = max(now, self.clock.now())
                await self._apply([CloseAll(ts=now, reason="shutdown", ts_recv=time.time_ns())], out)

    # -- dispatch ----------------------------------------------------------------------------

    def _notifier(self) -> Notifier | None:
        return self.notifier

    async def _dispatch(self, items: ObjectReceiveStream[_Out]) -> None:
        async with items:
            async for view, sourced, transition in items:
                log_actions([a for _, _, acts in sourced for a in acts])
                if transition is not None:
                    _log(
                        transition,
                        date=view.session_date,
                        equity=round(view.account.equity, 2),
                        time=iso(view.ts),
                    )
                    if transition == "session closed" and self.history is not None:
                        self.history.closed(view.session_date)  # archive + backfill, in its own task
                if self.notifier is not None:
                    self.notifier.record(sourced, view, transition)
        if self.history is not None:
            self.history.stop(abandon=self.stopping)


class MakeFeed(Protocol):
    def __call__(self, skip: int) -> MarketFeed: ...


@functools.lru_cache(maxsize=4096)
def _codes_text(codes: tuple[str, ...]) -> str:
    """Trade-condition codes as logged (a compact JSON list; a few combinations recur all day)."""
    return json.dumps(codes, separators=(",", ":"))


def _check_progress(deadline: int, journal: Journal) -> None:
    after = next_deadline(journal.state)
    if after is not None and after <= deadline:
        raise RuntimeError(f"the core's deadline did not advance past {deadline} after a Clock there")
