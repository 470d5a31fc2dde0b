"""The service's Discord notifier: actions -> items -> the outbox (one local commit); a sender task sends.

State: the outbox, the sender, the feed's current outage (for the long-outage alert). Consumes: the
service's steps (log position, event, actions), its start, stop and fatal error. Emits: outbox rows
(and the high-water mark, in the same commit). Invariants: a hook never raises into the service and
never waits on the network; an item's key depends on its source only.

The service calls the hooks (:meth:`DiscordNotifier.started`, :meth:`record`, :meth:`stopped`,
:meth:`failed`) from its own tasks; each derives items and commits them to the outbox in one SQLite
transaction and returns: nothing on the trading path waits on Discord. :meth:`run` (the sender and
the feed-outage watchdog) runs in the service's task group; :meth:`drain` sends what is left at
shutdown, bounded by ``notifications.drain_grace_s``.

Nothing lost, nothing twice. Item keys come from their source (``trade:<seq>:<idx>``,
``summary:<date>``...) and the outbox ignores a key it holds. With the items of a frame, the outbox
commits the last log position they came from (the high-water mark). At start, the records the log
holds after that mark (fills, trades, vetoes, halts, rejections, from the read tables) and the
sessions closed since are derived again, so a crash between the journal's commit and the outbox's
loses nothing; the ``Notify`` actions of that window that have no record (pause, resume, close
all) are not re-derived. A store that never ran notifications starts its mark at the log's end (no
back-fill of history); re-derivation covers at most the last day (feed time) before the log's end.
The one duplicate: a crash after Discord's 2xx and before the ``sent`` commit (see
:mod:`vibe_live.notify.outbox`).

Switches: ``notifications.send_<type>`` per type, ``notifications.min_severity`` (urgent items pass
it); urgent items
(risk halt, feed down longer than ``feed_down_critical_minutes``, fatal error, shutdown) skip the
coalescing window.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio

from vibe_core.actions import Action, EventRejected, Notify, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.codec import structure
from vibe_core.events import Event, FeedStatus, Filled, OrderRejected
from vibe_core.models import TradeRecord
from vibe_core.snapshot import EngineSnapshot
from vibe_live.logs import LOGGER
from vibe_live.notify import formatting as fmt
from vibe_live.notify.items import KINDS, SEVERITIES, Item
from vibe_live.notify.outbox import Outbox
from vibe_live.notify.sender import WebhookSender

__all__ = ["DiscordNotifier", "Sourced"]

Sourced = tuple[int, Event, Sequence[Action]]  #: (log seq, the event, its actions)
_DAY_NS = 86_400 * 1_000_000_000
_ECHOED = (TradeClosed, RiskHalted, OrderRejected)  #: records the core follows with a Notify saying the same


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    LOGGER.log(level, event, extra={"event": event, "fields": fields})


_F = TypeVar("_F", bound=Callable[..., None])


def _never_raises(hook: _F) -> _F:
    """A hook of the service: a notification problem is logged, never the service's problem."""

    @functools.wraps(hook)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:
            LOGGER.exception(
                "notification not committed",
                extra={"event": "notification not committed", "fields": {"hook": hook.__name__}},
            )

    return cast(_F, guarded)


class DiscordNotifier:
    """Items into the outbox of the store at ``db``; a :class:`WebhookSender` out of it."""

    def __init__(
        self, settings: Any, db: Path | str, *, horizon_ns: int = _DAY_NS, **sender_options: Any
    ) -> None:
        """``settings``: the ``notifications`` section; ``horizon_ns``: how far back (feed time) before
        the log's end a restart re-derives; ``sender_options`` override the sender's."""
        self.settings = settings
        self.horizon_ns = horizon_ns
        self.outbox = Outbox(db)
        options: dict[str, Any] = {
            "coalesce_ms": settings.coalesce_ms,
            "rate_limit": settings.rate_limit,
            "rate_period_s": settings.rate_period_s,
            "backoff_max_s": settings.backoff_max_s,
        }
        options.update(sender_options)
        self.sender = WebhookSender(settings.discord_webhook_url, self.outbox, **options)
        self._min = SEVERITIES.index(settings.min_severity)
        self._down: tuple[int, int, float, str] | None = None  #: (seq, ts, monotonic start, reason)
        self._down_alerted = False

    # -- committing ----------------------------------------------------------------------------

    def wanted(self, item: Item) -> bool:
        """Its type switched on, and urgent or of a severity at least ``min_severity``."""
        switch = bool(getattr(self.settings, f"send_{KINDS[item.kind]}"))
        return switch and (item.urgent or SEVERITIES.index(item.severity) >= self._min)

    def commit(self, items: Iterable[Item], *, seq: int | None = None) -> int:
        """Commit the wanted ``items`` (and the high-water ``seq``); wake the sender. Returns the new ones."""
        chosen = [item for item in items if self.wanted(item)]
        if not chosen and seq is None:
            return 0
        added = self.outbox.add(chosen, seq=seq)
        if added:
            self.sender.poke(urgent=any(item.urgent for item in chosen))
        return added

    # -- the service's hooks ---------------------------------------------------------------------

    @_never_raises
    def started(self, *, seq: int, mode: str, symbols: Sequence[str], resume: str) -> None:
        """Re-derive what the last run may not have committed, then say the service started."""
        mark = self.outbox.high_water()
        if mark is None:
            self.commit([], seq=seq)  # a store new to notifications: no back-fill of its history
        elif mark < seq:
            added = self.commit(self.rederive(mark), seq=seq)
            if added:
                _log("notifications re-derived after a restart", items=added, after_seq=mark)
        counts = self.outbox.counts()
        if counts["pending"]:
            _log("notifications pending from the last run", pending=counts["pending"])
        item = fmt.service_started(wall_ns=time.time_ns(), seq=seq, mode=mode, symbols=symbols, resume=resume)
        self.commit([item])

    @_never_raises
    def record(self, sourced: Sequence[Sourced], view: EngineSnapshot, transition: str | None) -> None:
        """The items of one dispatched step (its events' actions, a session close), in one commit."""
        items: list[Item] = []
        last: int | None = None
        for seq, event, actions in sourced:
            last = seq
            if isinstance(event, FeedStatus):
                items.append(self._feed(seq, event))
            items += self._from_actions(seq, actions)
        if transition == "session closed" and view.session_date:
            items += self._summaries("date = ?", (view.session_date,))
        self.commit(items, seq=last)

    @_never_raises
    def stopped(self, *, reason: str, seq: int, view: EngineSnapshot | None) -> None:
        equity = None if view is None else view.account.equity
        positions = 0 if view is None else len(view.positions)
        item = fmt.service_stopped(
            wall_ns=time.time_ns(), seq=seq, reason=reason, equity=equity, positions=positions
        )
        self.commit([item])

    @_never_raises
    def failed(self, *, seq: int, error: BaseException) -> None:
        self.commit([fmt.fatal_error(wall_ns=time.time_ns(), seq=seq, error=fmt.describe_error(error))])

    @_never_raises
    def notice(self, action: Notify) -> None:
        """A notice of the shell's own (:mod:`vibe_live.history`: Yahoo unavailable...)."""
        self.commit([fmt.shell_notice_item(action)])

    @_never_raises
    def gap(self, key: str, symbol: str, start: int, end: int, missing: int, note: str = "") -> None:
        """A data gap found by the feed's checks (``key`` names it for good, e.g. its first bar's time)."""
        self.commit([fmt.gap_item(key, symbol, start, end, missing, note)])

    # -- sending ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """The sender and the feed-outage watchdog, until cancelled (an error stops them, not the service)."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watchdog)
                await self.sender.run()
                tg.cancel_scope.cancel()
        except Exception:
            LOGGER.exception(
                "notifications stopped on an error",
                extra={
                    "event": "notifications stopped on an error",
                    "fields": {"note": "the outbox is kept"},
                },
            )

    async def drain(self, grace: float | None = None) -> int:
        """Send what is pending (no coalescing wait) for at most ``grace`` s; what is left (-1: error)."""
        grace = self.settings.drain_grace_s if grace is None else grace
        self.sender.hurry = True
        self.sender.poke()
        try:
            with anyio.move_on_after(grace):
                if self.sender.running:
                    while self.outbox.counts()["pending"] and self.sender.running:
                        await anyio.sleep(0.02)
                elif self.sender.stopped is None:
                    await self.sender.run(until_empty=True)
            left = self.outbox.counts()["pending"]
        except Exception:
            LOGGER.exception(
                "notifications not drained", extra={"event": "notifications not drained", "fields": {}}
            )
            return -1
        if left:
            _log(
                "notifications left in the outbox",
                logging.WARNING,
                pending=left,
                note="sent after the next start",
            )
        return left

    def close(self) -> None:
        self.outbox.close()

    async def _watchdog(self) -> None:
        limit = self.settings.feed_down_critical_minutes * 60
        while True:
            await anyio.sleep(1.0)
            down = self._down
            if down is not None and not self._down_alerted and time.monotonic() - down[2] >= limit:
                self._down_alerted = True
                seq, ts, _, reason = down
                self.commit(
                    [fmt.feed_down_long_item(seq, ts, self.settings.feed_down_critical_minutes, reason)]
                )

    # -- deriving --------------------------------------------------------------------------------

    def _feed(self, seq: int, event: FeedStatus) -> Item:
        if event.connected:
            self._down, self._down_alerted = None, False
        elif self._down is None:
            self._down = (seq, event.ts, time.monotonic(), event.reason)
        return fmt.feed_item(seq, event.ts, event.connected, event.reason)

    def _from_actions(self, seq: int, actions: Sequence[Action]) -> list[Item]:
        items: list[Item] = []
        previous: Action | None = None
        for idx, action in enumerate(actions):
            if isinstance(action, Notify):
                if not isinstance(previous, _ECHOED):
                    items.append(fmt.notice_item(seq, idx, action))
            else:
                item = self._from_record(seq, idx, action)
                if item is not None:
                    items.append(item)
            previous = action
        return items

    def _from_record(self, seq: int, idx: int, action: Action) -> Item | None:
        if isinstance(action, Filled):
            return fmt.fill_item(seq, idx, action)
        if isinstance(action, TradeClosed):
            return fmt.trade_item(seq, idx, action, self.stop_of(action.trade))
        if isinstance(action, SignalEvaluated) and not action.accepted:
            return fmt.veto_item(seq, idx, action)
        if isinstance(action, RiskHalted):
            return fmt.halt_item(seq, idx, action)
        if isinstance(action, OrderRejected):
            return fmt.order_rejected_item(seq, idx, action)
        if isinstance(action, EventRejected):
            return fmt.event_rejected_item(seq, idx, action)
        return None

    def stop_of(self, trade: TradeRecord) -> float | None:
        """The initial stop of ``trade``: its bracket's stop leg, else its entry order's ``stop_loss``."""
        leg = self.outbox.query(
            "SELECT stop_price FROM orders WHERE symbol = ? AND parent_id IS NOT NULL"
            " AND stop_price IS NOT NULL AND type IN ('stop', 'stop_limit') AND time >= ? AND time <= ?"
            " ORDER BY seq, idx LIMIT 1",
            (trade.symbol, trade.entry_time, trade.exit_time),
        )
        if leg:
            return float(leg[0][0])  # type: ignore[arg-type]
        entry = self.outbox.query(
            "SELECT json_extract(action, '$.stop_loss') FROM orders WHERE symbol = ? AND side = ?"
            " AND parent_id IS NULL AND time <= ? AND json_extract(action, '$.stop_loss') IS NOT NULL"
            " ORDER BY time DESC, seq DESC LIMIT 1",
            (trade.symbol, trade.side.value, trade.entry_time),
        )
        return float(entry[0][0]) if entry else None  # type: ignore[arg-type]

    def _summaries(self, where: str, params: Sequence[object] = ()) -> list[Item]:
        items = []
        sessions = self.outbox.query(
            f"SELECT date, open, close, start_equity, end_equity FROM sessions WHERE {where} ORDER BY date",
            params,
        )
        for date, open_ts, close_ts, start, end in sessions:
            pnls = [
                float(r[0])  # type: ignore[arg-type]
                for r in self.outbox.query(
                    "SELECT pnl FROM trades WHERE exit_time >= ? AND exit_time <= ? ORDER BY seq, idx",
                    (open_ts, close_ts),
                )
            ]
            items.append(
                fmt.summary_item(
                    date=str(date),
                    close_ts=int(close_ts),  # type: ignore[call-overload]
                    start_equity=float(start),  # type: ignore[arg-type]
                    end_equity=float(end),  # type: ignore[arg-type]
                    pnls=pnls,
                    dashboard_url=self.settings.dashboard_url,
                )
            )
        return items

    def rederive(self, after: int) -> list[Item]:
        """The items of the records logged after ``after`` (within ``horizon_ns`` of the log's end) and
        of the sessions closed since, from the store's read tables."""
        (last_ts,) = self.outbox.query("SELECT coalesce(max(ts), 0) FROM events")[0]
        (mark_ts,) = self.outbox.query("SELECT coalesce(max(ts), 0) FROM events WHERE seq <= ?", (after,))[0]
        since = max(int(mark_ts), int(last_ts) - self.horizon_ns)  # type: ignore[call-overload]
        rows = self.outbox.query(
            "SELECT seq, idx, action FROM ("
            " SELECT seq, idx, action, time AS t FROM fills"
            " UNION ALL SELECT seq, idx, action, exit_time FROM trades"
            " UNION ALL SELECT seq, idx, action, time FROM signals WHERE accepted = 0"
            " UNION ALL SELECT seq, idx, action, time FROM halts"
            " UNION ALL SELECT seq, idx, action, time FROM order_events WHERE kind = 'rejected'"
            ") WHERE seq > ? AND t >= ? ORDER BY seq, idx",
            (after, since),
        )
        items = []
        for seq, idx, data in rows:
            action = structure(json.loads(str(data)), Action)
            item = self._from_record(int(seq), int(idx), action)  # type: ignore[call-overload]
            if item is not None:
                items.append(item)
        items += self._summaries("close > ? AND close <= ?", (since, last_ts))
        return items
