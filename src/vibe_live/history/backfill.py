"""Backfill: Yahoo's 5m bars for the intervals the feed missed, marked ``recovered``.

State: the store's ``recovered_bars`` table and the ``5m-recovered`` archive folder.
Consumes: gaps ``(symbol, start_ns, end_ns)`` (:mod:`~vibe_live.history.gaps`, or the core's gap
records), a :class:`~vibe_live.history.source.YahooHistory`.
Emits: rows ``recovered_bars(symbol, time, open, high, low, close, volume, source, gap_start,
gap_end)`` and the same bars in ``<cache_dir>/5m-recovered/SYMBOL.parquet``.
Invariants: recovered bars are a record for charts and history; they are never fed to the engine:
their time has passed (the engine's clock and the session's decisions already went by them, and a
late bar would be refused as stale), and a replay of the log must give the same decisions as the
session did. A bar is recovered when its interval overlaps a gap. Yahoo failing (offline, rate
limit, empty frame, hang) is retried with backoff by the source, then the backfill goes on without
those bars and says why (``problem``). Writing the same bars again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from vibe_core.events import Bar
from vibe_core.types import Timeframe
from vibe_live.history.archive import append_archive
from vibe_live.history.gaps import Gap
from vibe_live.history.source import YahooHistory
from vibe_live.store import Store

__all__ = ["Recovered", "fetch_missing", "record_recovered", "backfill", "RECOVERED"]

RECOVERED = "recovered"  #: the archive folder of recovered bars (``5m-recovered``)
_M5 = Timeframe.M5.ns


@attrs.frozen
class Recovered:
    """The bars found for ``gaps`` (each with its gap) and why some may be missing."""

    gaps: tuple[Gap, ...]
    bars: tuple[tuple[Gap, Bar], ...] = ()
    problem: str | None = None  #: Yahoo failed after every retry (the bars are from the cache only)

    @property
    def missing(self) -> int:
        """Gaps that got no bar at all."""
        found = {gap for gap, _ in self.bars}
        return sum(1 for gap in self.gaps if gap not in found)


def fetch_missing(history: YahooHistory, gaps: Iterable[Gap], *, now_ns: int | None = None) -> Recovered:
    """Yahoo's 5m bars overlapping each gap (one fetch for every symbol involved). Blocking."""
    wanted = tuple(gaps)
    if not wanted:
        return Recovered(gaps=())
    symbols = sorted({symbol for symbol, _, _ in wanted})
    first = min(start for _, start, _ in wanted)
    last = max(end for _, _, end in wanted)
    fetched = history.fetch(symbols, since_ns=first, until_ns=now_ns, covered_by=last)
    found: list[tuple[Gap, Bar]] = []
    taken: set[tuple[str, int]] = set()  # a bar touching two close gaps is recovered once
    for gap in wanted:
        symbol, start, end = gap
        series = fetched.bars.get(symbol)
        if series is None:
            continue
        part = series.between(start - _M5 + 1, end)
        for i in range(len(part)):
            if (symbol, int(part.ts[i])) in taken:
                continue
            taken.add((symbol, int(part.ts[i])))
            bar = Bar(
                symbol=symbol,
                timeframe=Timeframe.M5,
                ts=int(part.ts[i]),
                open=float(part.open[i]),
                high=float(part.high[i]),
                low=float(part.low[i]),
                close=float(part.close[i]),
                volume=float(part.volume[i]),
                source=series.source,
            )
            found.append((gap, bar))
    return Recovered(gaps=wanted, bars=tuple(found), problem=fetched.problem)


def record_recovered(store: Store, recovered: Recovered) -> int:
    """Write the recovered bars to ``recovered_bars`` (one transaction); returns how many."""
    rows = [
        (bar.symbol, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.source, start, end)
        for (_, start, end), bar in recovered.bars
    ]
    if rows:
        with store._transaction("record recovered bars") as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO recovered_bars"
                " (symbol, time, open, high, low, close, volume, source, gap_start, gap_end)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)


def backfill(
    store: Store,
    history: YahooHistory,
    gaps: Sequence[Gap],
    *,
    cache_dir: str | Path | None = None,
    now_ns: int | None = None,
) -> Recovered:
    """Fetch the bars of ``gaps``, record them in ``store`` and in the recovered archive.

    One call for the lead's wiring (e.g. driven by the core's gap records): blocking, run it off the
    event loop's hot path. ``cache_dir`` defaults to the history's.
    """
    recovered = fetch_missing(history, gaps, now_ns=now_ns)
    record_recovered(store, recovered)
    if recovered.bars:
        append_archive(cache_dir or history.cache_dir, RECOVERED, (bar for _, bar in recovered.bars))
    return recovered
