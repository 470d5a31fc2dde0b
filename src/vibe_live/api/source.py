"""The read source: what the routes read, from a running service or from a finished backtest.

Two implementations: :class:`~vibe_live.api.live_source.LiveSource` (the service's frozen read
model and the store's read tables) and :class:`~vibe_live.api.results_source.ResultsSource` (a
``vibe-backtest run`` folder). The routes know only this protocol.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

from vibe_live.api.models import (
    Account,
    Bars,
    EquityCurve,
    Fills,
    HealthMetrics,
    Mode,
    Orders,
    Performance,
    Period,
    Positions,
    Ready,
    Signals,
    Trades,
)
from vibe_live.api.shapes import Query, cursor_of

__all__ = ["ReadSource", "Counters", "ProcessStats", "page"]

T = TypeVar("T")


class Counters(NamedTuple):
    """The values ``/metrics`` exports, read in one go (so they agree with each other)."""

    uptime: float
    feed_connected: bool
    print_ages: dict[str, float]
    reconnects: int
    events_applied: int
    orders_by_status: dict[str, int]
    fills: int
    equity: float
    cash: float
    open_positions: int
    daily_pnl: float
    errors: dict[str, int]


@runtime_checkable
class ReadSource(Protocol):
    mode: Mode

    def symbols(self) -> Sequence[str]: ...
    def uptime(self) -> float: ...
    def account(self) -> Account: ...
    def positions(self) -> Positions: ...
    def orders(self, q: Query) -> Orders: ...
    def trades(self, q: Query) -> Trades: ...
    def fills(self, q: Query) -> Fills: ...
    def signals(self, q: Query) -> Signals: ...
    def equity(self, since: int | None) -> EquityCurve: ...
    def bars(self, symbol: str, limit: int) -> Bars: ...
    def performance(self, period: Period) -> Performance: ...
    def health(self) -> HealthMetrics: ...
    def ready(self) -> Ready: ...
    def counters(self) -> Counters: ...


def page(
    rows: Sequence[T], times: Sequence[int], q: Query, keep: Callable[[T], bool] | None = None
) -> tuple[list[T], str | None]:
    """Newest first from time-ordered ``rows``: at most ``q.limit`` rows before ``q.cursor`` (a row
    index), at or after ``q.since``, that ``keep`` accepts; and the cursor of the next page."""
    start = len(rows) - 1 if q.cursor is None else min(q.cursor[0], len(rows)) - 1
    out: list[T] = []
    i = start
    while i >= 0:
        if q.since is not None and times[i] < q.since:
            return out, None
        if keep is None or keep(rows[i]):
            if len(out) == q.limit:
                return out, cursor_of((i + 1, 0))
            out.append(rows[i])
        i -= 1
    return out, None


class ProcessStats:
    """This process's CPU use (percent of one core since the previous call) and resident memory."""

    def __init__(self) -> None:
        self._last = (time.monotonic(), self._cpu())

    @staticmethod
    def _cpu() -> float:
        t = os.times()
        return t.user + t.system

    def cpu_percent(self) -> float:
        now, cpu = time.monotonic(), self._cpu()
        then, before = self._last
        if now - then < 0.05:
            return getattr(self, "_pct", 0.0)
        self._last = (now, cpu)
        self._pct: float = max(0.0, (cpu - before) / (now - then) * 100)
        return self._pct

    @staticmethod
    def rss_bytes() -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
