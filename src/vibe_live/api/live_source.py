"""The read source over the running service: its frozen read model (``LiveService.view``), its
feed's health and the store's read tables (:class:`~vibe_live.api.store_reader.StoreReader`).

It never touches the engine's mutable state: the view is swapped once per step, and the routes run
on the service's event loop, so a request sees the state between two steps.
"""

from __future__ import annotations

import collections
import os
import shutil
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from vibe_live.api.errors import UnknownSymbol
from vibe_live.api.models import (
    Account,
    BarRow,
    Bars,
    Check,
    EquityCurve,
    FeedState,
    Fills,
    Gap,
    HealthMetrics,
    Mode,
    Orders,
    Performance,
    Period,
    Position,
    Positions,
    Ready,
    Signals,
    Trades,
)
from vibe_live.api.shapes import (
    NS,
    Query,
    day_start,
    equity_points,
    markers,
    opening_range,
    order_status,
    performance,
    utc,
)
from vibe_live.api.source import Counters, ProcessStats
from vibe_live.api.store_reader import StoreReader
from vibe_live.store import StoreError

if TYPE_CHECKING:
    from vibe_live.service import LiveService

__all__ = ["LiveSource", "ErrorWindow"]

T = TypeVar("T")

HEARTBEAT_S = 120.0  #: /health/ready: a feed message within this many seconds (market open)
MAX_ERRORS_PER_HOUR = 100  #: /health/ready: at most this many errors in the last hour
MIN_FREE_BYTES = 50 * 1024 * 1024  #: /health/ready: free space beside the store
_M5 = 300 * NS


class ErrorWindow:
    """Errors in the last hour from cumulative counters: the total sampled over time."""

    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def observe(self, total: int, now: float | None = None) -> int:
        """Record ``total`` (a cumulative count) now; the increase over the last hour."""
        now = time.monotonic() if now is None else now
        self._samples.append((now, total))
        while len(self._samples) > 1 and self._samples[1][0] <= now - 3600:
            self._samples.popleft()
        if len(self._samples) > 10_000:  # called per request: keep one sample per second or so
            self._samples = collections.deque(list(self._samples)[::2])
        return total - self._samples[0][1]


class LiveSource:
    """See the module docstring."""

    def __init__(self, service: LiveService) -> None:
        self.service = service
        self.reader = StoreReader(service.store.path)
        self.mode: Mode = "replay" if service.feed_label.startswith("replay") else "live"
        self._started = time.monotonic()
        self._process = ProcessStats()
        self._errors = ErrorWindow()
        self._cache: dict[tuple[object, ...], object] = {}
        self._cache_seq = -1
        strategy = service.settings.core.strategy
        self.range_minutes = int(getattr(strategy, "opening_range_minutes", 15))

    def close(self) -> None:
        self.reader.close()

    def symbols(self) -> Sequence[str]:
        return self.service.settings.core.symbols

    def uptime(self) -> float:
        return time.monotonic() - self._started

    # -- answers, cached per log position ------------------------------------------------------------

    def _cached(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """``make()``, or its answer for the same ``key`` at the same log position: the read model and
        the read tables change only when the log grows, so a cached answer is exact (many clients
        polling between two steps cost one query)."""
        seq = self.service.journal.last_seq
        if seq != self._cache_seq:
            self._cache.clear()
            self._cache_seq = seq
        if key in self._cache:
            return self._cache[key]  # type: ignore[return-value]
        value = make()
        if len(self._cache) < 512:
            self._cache[key] = value
        return value

    def account(self) -> Account:
        return self._cached(("account",), lambda: self._make_account())

    def positions(self) -> Positions:
        return self._cached(("positions",), lambda: self._make_positions())

    def orders(self, q: Query) -> Orders:
        return self._cached(("orders", q), lambda: self._make_orders(q))

    def trades(self, q: Query) -> Trades:
        return self._cached(("trades", q), lambda: self._make_trades(q))

    def fills(self, q: Query) -> Fills:
        return self._cached(("fills", q), lambda: self._make_fills(q))

    def signals(self, q: Query) -> Signals:
        return self._cached(("signals", q), lambda: self._make_signals(q))

    def equity(self, since: int | None) -> EquityCurve:
        return self._cached(("equity", since), lambda: self._make_equity(since))

    def performance(self, period: Period) -> Performance:
        return self._cached(("performance", period), lambda: self._make_performance(period))

    def bars(self, symbol: str, limit: int) -> Bars:
        return self._cached(("bars", symbol, limit), lambda: self._make_bars(symbol, limit))

    # -- the read model ----------------------------------------------------------------------------

    def _make_account(self) -> Account:
        view = self.service.view
        a = view.account
        session = self.service.sessions.session_at(view.ts) if view.ts else None
        today = day_start(view.ts) if view.ts else 0
        trades_today = int(
            self.reader.execute("SELECT count(*) FROM trades WHERE exit_time >= ?", (today,)).fetchone()[0]
        )
        start = view.session_start_equity or a.equity
        return Account(
            ts=utc(view.ts) if view.ts else None,
            cash=float(a.cash),
            equity=float(a.equity),
            unrealized_pnl=float(a.unrealized_pnl),
            realized_pnl=float(a.realized_pnl),
            daily_pnl=a.equity - start if session is not None or view.session_date else 0.0,
            gross_exposure=float(a.gross_exposure),
            open_positions=len(view.positions),
            total_trades=self.reader.count("trades"),
            trades_today=trades_today,
            paused=view.paused,
            halted=view.halted,
            session_date=view.session_date,
            session_open=view.session_open,
            mode=self.mode,
        )

    def _make_positions(self) -> Positions:
        return Positions(
            positions=[
                Position(
                    symbol=p.symbol,
                    qty=p.qty,
                    avg_price=p.avg_price,
                    last_price=p.last_price,
                    unrealized_pnl=p.unrealized_pnl,
                    realized_pnl=p.realized_pnl,
                )
                for p in self.service.view.positions
            ]
        )

    # -- the read tables ---------------------------------------------------------------------------

    def _make_orders(self, q: Query) -> Orders:
        rows, cursor = self.reader.page("orders", q)
        return Orders(orders=rows, next_cursor=cursor)

    def _make_trades(self, q: Query) -> Trades:
        rows, cursor = self.reader.page("trades", q)
        return Trades(trades=rows, next_cursor=cursor)

    def _make_fills(self, q: Query) -> Fills:
        rows, cursor = self.reader.page("fills", q)
        return Fills(fills=rows, next_cursor=cursor)

    def _make_signals(self, q: Query) -> Signals:
        rows, cursor = self.reader.page("signals", q)
        return Signals(signals=rows, next_cursor=cursor)

    def _equity_rows(self) -> tuple[list[int], list[float], list[float]]:
        rows = self.reader.execute("SELECT time, cash, equity FROM equity ORDER BY time").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def _make_equity(self, since: int | None) -> EquityCurve:
        t, c, e = self._equity_rows()
        return EquityCurve(equity=equity_points(t, c, e, self.service.settings.core.initial_capital, since))

    def _make_performance(self, period: Period) -> Performance:
        t, _, e = self._equity_rows()
        view = self.service.view
        if view.ts:  # the latest equity is the account's now (samples are every 5 minutes)
            t.append(view.ts)
            e.append(view.account.equity)
        trades = self.reader.execute(
            "SELECT entry_time, exit_time, pnl FROM trades ORDER BY seq, idx"
        ).fetchall()
        return performance(
            period,
            now=view.ts or None,
            initial=self.service.settings.core.initial_capital,
            times=t,
            equity=e,
            trades=[(a, b, p) for a, b, p in trades],
        )

    def _make_bars(self, symbol: str, limit: int) -> Bars:
        """The symbol's 5m bars from its logged prints (the forming bar included): the latest
        ``limit``, and the opening range of the latest session."""
        if symbol not in self.symbols():
            raise UnknownSymbol(symbol, list(self.symbols()))
        view = self.service.view
        session = self.service.sessions.session_at(view.ts) if view.ts else None
        start = view.ts - limit * _M5
        if session is not None:
            start = min(start, session.open)
        elif view.session_date is not None:
            start = min(start, day_start(view.ts))
        first = self._seq_at(start)
        rows = self.reader.execute(
            "SELECT ts, json_extract(payload, '$.price'), json_extract(payload, '$.size') FROM events"
            " WHERE seq >= ? AND kind = 'Trade' AND json_extract(payload, '$.symbol') = ? ORDER BY seq",
            (first, symbol),
        ).fetchall()
        times, bars = _aggregate(rows)
        shown_t, shown = times[-limit:], bars[-limit:]
        lo, hi = (shown_t[0], shown_t[-1] + _M5) if shown_t else (0, 0)
        trades = self.reader.execute(
            "SELECT seq, idx, symbol, side, qty, entry_time, entry_price, exit_time, exit_price, pnl, fees,"
            " exit_reason, '' FROM trades WHERE symbol = ? AND exit_time >= ? ORDER BY seq, idx",
            (symbol, lo),
        ).fetchall()
        rows_t = [self.reader.trade(r) for r in trades]
        return Bars(
            symbol=symbol,
            timeframe="5m",
            bars=shown,
            opening_range=opening_range(bars, times, self.service.sessions, self.range_minutes),
            markers=markers(rows_t, [r[5] for r in trades], [r[7] for r in trades], lo, hi),
        )

    def _seq_at(self, ts: int) -> int:
        """The first log position whose time is at or after ``ts`` (the log is in time order)."""
        lo = 1
        hi = int(self.reader.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = self.reader.execute(
                "SELECT ts FROM events WHERE seq >= ? ORDER BY seq LIMIT 1", (mid,)
            ).fetchone()
            if row is None or row[0] >= ts:
                hi = mid
            else:
                lo = mid + 1
        return lo

    # -- health ------------------------------------------------------------------------------------

    def _error_counts(self) -> dict[str, int]:
        view = self.service.view
        errors = {f"refused: {reason}": n for reason, n in view.rejected_events}
        for kind, n in self.service.feed.health.faults.items():
            errors[f"feed: {kind}"] = errors.get(f"feed: {kind}", 0) + n
        return errors

    def errors_last_hour(self) -> int:
        return self._errors.observe(sum(self._error_counts().values()))

    def _print_ages(self) -> dict[str, float]:
        now = time.time_ns()
        return {
            s: max(0.0, (now - t) / NS) for s, t in sorted(self.service.feed.health.last_print_ns.items())
        }

    def gaps(self) -> list[Gap]:
        """The ``gaps`` table when the store has one (the feed gate's), else none."""
        if not self.reader.has_table("gaps"):
            return []
        cur = self.reader.execute("SELECT * FROM gaps ORDER BY 1")
        names = [d[0] for d in cur.description]
        out = []
        for r in cur.fetchall():
            row = dict(zip(names, r, strict=True))
            start, end = row.get("start", row.get("from")), row.get("end", row.get("to"))
            out.append(
                Gap(
                    symbol=str(row.get("symbol", "")),
                    start=utc(int(start)) if start is not None else "",
                    end=utc(int(end)) if end is not None else "",
                    recovered=bool(row.get("recovered", end is not None)),
                )
            )
        return out

    def health(self) -> HealthMetrics:
        health = self.service.feed.health
        view = self.service.view
        return HealthMetrics(
            uptime_seconds=self.uptime(),
            feed=FeedState(
                connected=health.connected,
                reconnects=health.reconnects,
                last_print_age_seconds=self._print_ages(),
            ),
            last_data_time=utc(view.ts) if view.ts else None,
            cpu_percent=self._process.cpu_percent(),
            rss_bytes=self._process.rss_bytes(),
            errors_last_hour=self.errors_last_hour(),
            gaps=self.gaps(),
        )

    def ready(self) -> Ready:
        if not self.service.settings.features.enable_health_checks:
            return Ready(status="ready", checks={})  # checks off: ready whenever it answers
        health = self.service.feed.health
        view = self.service.view
        closed = not view.session_open
        checks: dict[str, Check] = {}
        checks["feed"] = Check(
            ok=health.connected or closed,
            detail="connected" if health.connected else ("market closed" if closed else "disconnected"),
        )
        age = (time.time_ns() - health.last_message_ns) / NS if health.last_message_ns else None
        beat = age is not None and age <= HEARTBEAT_S
        checks["heartbeat"] = Check(
            ok=beat or closed,
            detail=("no message yet" if age is None else f"last message {age:.1f} s ago")
            + (" (market closed)" if closed and not beat else ""),
        )
        errors = self.errors_last_hour()
        checks["errors"] = Check(ok=errors <= MAX_ERRORS_PER_HOUR, detail=f"{errors} in the last hour")
        checks["store"] = self._store_check()
        ok = all(c.ok for c in checks.values())
        return Ready(status="ready" if ok else "not ready", checks=checks)

    def _store_check(self) -> Check:
        store = self.service.store
        folder = store.path.resolve().parent
        try:
            store.get_meta("feed")  # the service's own connection answers
        except StoreError as exc:
            return Check(ok=False, detail=str(exc))
        if not os.access(folder, os.W_OK):
            return Check(ok=False, detail=f"{folder} is not writable")
        free = shutil.disk_usage(folder).free
        if free < MIN_FREE_BYTES:
            return Check(ok=False, detail=f"only {free // 2**20} MiB free in {folder}")
        return Check(ok=True, detail=f"{free // 2**20} MiB free")

    def _orders_by_status(self) -> dict[str, int]:
        by_status: dict[str, int] = {}
        for r in self.reader.execute(
            "SELECT o.status, o.qty, coalesce(f.q, 0) FROM orders o"
            " LEFT JOIN (SELECT order_id, sum(qty) AS q FROM fills GROUP BY order_id) f ON f.order_id = o.id"
        ):
            status = order_status(r[0], int(r[2]), int(r[1]))[0]
            by_status[status] = by_status.get(status, 0) + 1
        return by_status

    def counters(self) -> Counters:
        health = self.service.feed.health
        account = self.account()
        return Counters(
            uptime=self.uptime(),
            feed_connected=health.connected,
            print_ages=self._print_ages(),
            reconnects=health.reconnects,
            events_applied=self.service.journal.last_seq,
            orders_by_status=self._cached(("orders by status",), self._orders_by_status),
            fills=self._cached(("fills count",), lambda: self.reader.count("fills")),
            equity=account.equity,
            cash=account.cash,
            open_positions=account.open_positions,
            daily_pnl=account.daily_pnl,
            errors=self._error_counts(),
        )


def _aggregate(rows: list[tuple[int, float, float]]) -> tuple[list[int], list[BarRow]]:
    """Prints ``(ts, price, size)`` in log order -> 5m bars stamped at their open."""
    times: list[int] = []
    bars: list[BarRow] = []
    for ts, price, size in rows:
        start = ts // _M5 * _M5
        if times and times[-1] == start:
            b = bars[-1]
            b.high = max(b.high, price)
            b.low = min(b.low, price)
            b.close = price
            b.volume += size
        else:
            times.append(start)
            bars.append(
                BarRow(time=utc(start), open=price, high=price, low=price, close=price, volume=float(size))
            )
    return times, bars
