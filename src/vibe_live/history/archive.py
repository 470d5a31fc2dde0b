"""The archive: the 5m bars the service built from its own prints, kept past Yahoo's 60 days.

State: Parquet files ``<cache_dir>/5m-<name>/SYMBOL.parquet`` beside Yahoo's cache
(``<cache_dir>/5m/SYMBOL.parquet``), one folder per source: ``5m-finnhub`` holds the bars made
from Finnhub's prints (IEX-only volume), ``5m-recovered`` Yahoo's bars fetched for feed gaps.
Bars of different volume semantics never share a file, so nothing overwrites Yahoo's rows and every
folder is a valid ``vibe-backtest run --data`` directory.
Consumes: the store's logged prints (read-only connection: never blocks the writer), the session
table.
Emits: files appended in place (merge by bar time, the newer bar wins, written atomically).
Invariants: the bars are rebuilt with the engine's own aggregator (``vibe_core.bars``) from the
logged prints only (warm-up bars in the log are Yahoo's, not the service's); re-archiving a day
writes the same rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from vibe_backtest.data import BarSeries, load_file, save_file
from vibe_backtest.yahoo import merge_series
from vibe_core.bars import BarAggregator
from vibe_core.calendar import SessionTable
from vibe_core.events import Bar, Trade
from vibe_core.types import Timeframe

__all__ = ["archive_path", "append_archive", "load_archive", "built_bars", "archived_until"]

_M5 = Timeframe.M5


def archive_path(cache_dir: str | Path, symbol: str, name: str) -> Path:
    """``<cache_dir>/5m-<name>/SYMBOL.parquet``: the archive of one source (``finnhub``, ``recovered``)."""
    return Path(cache_dir) / f"5m-{name}" / f"{symbol.upper()}.parquet"


def load_archive(cache_dir: str | Path, symbol: str, name: str) -> BarSeries | None:
    """The archived bars of ``symbol`` from source ``name`` (``None`` when none yet)."""
    path = archive_path(cache_dir, symbol, name)
    if not path.is_file():
        return None
    return load_file(path, symbol=symbol, source=name, timeframe=_M5)


def archived_until(cache_dir: str | Path, symbol: str, name: str) -> int | None:
    """The end of the last archived bar of ``symbol`` (``None``: nothing archived)."""
    series = load_archive(cache_dir, symbol, name)
    return None if series is None or not len(series) else int(series.ts[-1]) + _M5.ns


def append_archive(cache_dir: str | Path, name: str, bars: Iterable[Bar]) -> dict[str, int]:
    """Merge 5m ``bars`` into the ``name`` archive, per symbol; returns the bars written per symbol."""
    by_symbol: dict[str, list[Bar]] = {}
    for bar in bars:
        if bar.timeframe is not _M5:
            raise ValueError(f"the archive keeps 5m bars, got a {bar.timeframe.label} bar of {bar.symbol}")
        by_symbol.setdefault(bar.symbol, []).append(bar)
    written = {}
    for symbol, rows in by_symbol.items():
        rows.sort(key=lambda b: b.ts)
        new = BarSeries(
            symbol=symbol,
            timeframe=_M5,
            source=name,
            ts=np.array([b.ts for b in rows], dtype=np.int64),
            open=[b.open for b in rows],
            high=[b.high for b in rows],
            low=[b.low for b in rows],
            close=[b.close for b in rows],
            volume=[b.volume for b in rows],
        )
        merged = merge_series(load_archive(cache_dir, symbol, name), new)
        save_file(merged, archive_path(cache_dir, symbol, name))
        written[symbol] = len(rows)
    return written


def built_bars(
    db: str | Path,
    sessions: SessionTable,
    start_ns: int,
    end_ns: int,
    *,
    trade_source: str = "finnhub",
    symbols: Sequence[str] | None = None,
) -> list[Bar]:
    """The complete 5m bars the logged prints in ``[start_ns, end_ns)`` make (``end_ns``: a close)."""
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT ts, json_extract(payload, '$.symbol'), json_extract(payload, '$.price'),"
            " json_extract(payload, '$.size') FROM events"
            " WHERE kind = 'Trade' AND ts >= ? AND ts < ? ORDER BY seq",
            (start_ns, end_ns),
        ).fetchall()
    finally:
        conn.close()
    wanted = None if symbols is None else set(symbols)
    agg = BarAggregator(sessions=sessions, timeframes=(_M5,), trade_source=trade_source)
    out: list[Bar] = []
    for ts, symbol, price, size in rows:
        if wanted is None or symbol in wanted:
            out += agg.on_trade(Trade(symbol=symbol, ts=ts, price=float(price), size=float(size)))
    out += agg.on_clock(end_ns)
    return out
