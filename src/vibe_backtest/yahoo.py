"""``--source yahoo``: recent intraday bars from Yahoo (yfinance) with a growing Parquet archive.

Yahoo serves 5m bars for the last 60 calendar days only, so every fetch is merged into a cache
(``<cache_dir>/<interval>/SYMBOL.parquet``, newest wins): the archive grows past the window, and
the cache folder is itself a valid ``--source file`` directory.

yfinance fails quietly, so this module is explicit about it (see /work/shared/protocols.md C4):
``download()`` returns an EMPTY frame when offline and swallows HTTP 429 per ticker (that
ticker's columns come back all NaN). Either counts as "no data": the cache is used with a
warning, or, with nothing cached, a :class:`~vibe_backtest.data.DataError` says so. A
black-holed network can make yfinance hang for 70-100 s, so the download runs in a daemon
worker thread bounded by ``timeout``.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vibe_backtest.data import BarSeries, DataError, bars_from_frame, load_file, save_file
from vibe_core.calendar import SessionTable
from vibe_core.types import Timeframe

__all__ = ["Downloader", "fetch_yahoo", "normalize_download", "merge_series", "cache_path"]

logger = logging.getLogger(__name__)

#: ``yf.download``'s shape: ``downloader(tickers, **options) -> DataFrame``.
Downloader = Callable[..., pd.DataFrame]

_FIELDS = ("open", "high", "low", "close", "volume")
_NY = "America/New_York"


def cache_path(cache_dir: str | Path, symbol: str, interval: str = "5m") -> Path:
    return Path(cache_dir) / interval / f"{symbol.upper()}.parquet"


def _yfinance_downloader(cache_dir: Path) -> Downloader:
    try:
        import yfinance as yf
    except ImportError as exc:
        raise DataError("yfinance is not installed: pip install 'vibe-trading[yahoo]'") from exc
    own = cache_dir / "yfinance"
    own.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(own))  # keep yfinance's cookie/tz caches under our cache_dir
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)  # we report failures ourselves

    def download(*args: Any, **kwargs: Any) -> pd.DataFrame:
        with warnings.catch_warnings():  # yfinance's pandas deprecation noise is not the user's
            warnings.simplefilter("ignore")
            frame: pd.DataFrame = yf.download(*args, **kwargs)
            return frame

    return download


def _call_with_timeout(fn: Callable[[], pd.DataFrame], timeout: float) -> pd.DataFrame:
    """Run ``fn`` in a daemon thread; give up after ``timeout`` s (the thread is left to finish)."""
    box: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:  # handed to the caller's thread
            box.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="vibe-yahoo-download", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no answer within {timeout:g} s")
    ok, value = box[0]
    if ok:
        frame: pd.DataFrame = value
        return frame
    raise value


def _field_level(columns: pd.MultiIndex) -> int:
    for level in range(columns.nlevels):
        if "close" in {str(v).lower() for v in columns.get_level_values(level)}:
            return level
    raise DataError(f"Yahoo frame has no Close column: {list(columns)[:8]}")


def normalize_download(frame: pd.DataFrame | None, symbols: Sequence[str]) -> dict[str, pd.DataFrame]:
    """yfinance output -> per symbol, a ``timestamp`` (UTC) + OHLCV frame of its complete rows.

    Handles MultiIndex columns ``(Price, Ticker)`` (also for one ticker) or ``(Ticker, Price)``
    (``group_by="ticker"``), flat columns for one symbol (``multi_level_index=False``,
    ``Ticker.history``), an index in New York or UTC (yfinance < 1.4), or naive (read as New York).
    Rows a ticker lacks after the outer join (all NaN) are dropped; a symbol with no complete row
    (offline, rate-limited, unknown) is left out of the result.
    """
    out: dict[str, pd.DataFrame] = {}
    if frame is None or frame.empty:
        return out
    for symbol in symbols:
        if isinstance(frame.columns, pd.MultiIndex):
            fields = _field_level(frame.columns)
            ticker_level = 1 - fields if frame.columns.nlevels == 2 else None
            if ticker_level is None:
                raise DataError(f"Yahoo frame has {frame.columns.nlevels} column levels, expected 2")
            tickers = {str(t).upper(): t for t in frame.columns.get_level_values(ticker_level)}
            if symbol.upper() not in tickers:
                continue
            sub = frame.xs(tickers[symbol.upper()], axis=1, level=ticker_level)
        elif len(symbols) == 1:
            sub = frame
        else:
            raise DataError("Yahoo frame has flat columns but several symbols were requested")
        names = {str(c).lower(): c for c in sub.columns}
        if any(f not in names for f in _FIELDS):
            continue
        values = pd.DataFrame({f: pd.to_numeric(sub[names[f]], errors="coerce") for f in _FIELDS})
        values = values.dropna(how="any")
        if values.empty:
            continue
        index = pd.DatetimeIndex(values.index)
        index = index.tz_localize(_NY) if index.tz is None else index
        values.index = index.tz_convert("UTC").as_unit("ns").rename("timestamp")
        out[symbol.upper()] = values.reset_index()
    return out


def merge_series(old: BarSeries | None, new: BarSeries) -> BarSeries:
    """Union of two series of one symbol; where both have a bar, ``new`` wins."""
    if old is None or len(old) == 0:
        return new
    if old.timeframe != new.timeframe:
        raise DataError(
            f"{new.symbol}: cached bars are {old.timeframe.label}, downloaded bars are {new.timeframe.label}"
        )
    names = ("ts", "open", "high", "low", "close", "volume")
    both = {n: np.concatenate([getattr(new, n), getattr(old, n)]) for n in names}
    _, first = np.unique(both["ts"], return_index=True)  # sorted by ts; first hit = the new bar
    ts, o, h, low, c, v = (both[n][first] for n in names)
    return BarSeries(
        symbol=new.symbol,
        timeframe=new.timeframe,
        source=new.source,
        ts=ts,
        open=o,
        high=h,
        low=low,
        close=c,
        volume=v,
    )


def fetch_yahoo(
    symbols: Sequence[str],
    *,
    cache_dir: str | Path,
    sessions: SessionTable | None,
    interval: str = "5m",
    days: int = 60,
    downloader: Downloader | None = None,
    timeout: float = 30.0,
    now_ns: int | None = None,
) -> dict[str, BarSeries]:
    """Download recent bars, merge them into the Parquet cache and return cache + new bars.

    ``sessions`` drops extended-hours rows (it must cover the downloaded days). ``now_ns`` (default:
    the wall clock) drops a still-forming last bar. ``downloader`` replaces ``yf.download`` (tests).
    Raises :class:`DataError` when Yahoo gives nothing for a symbol that has no cache yet.
    """
    try:
        timeframe = Timeframe.parse(interval)
    except ValueError:
        timeframe = None
    if timeframe not in (Timeframe.M1, Timeframe.M5):
        raise DataError(f"interval {interval!r} is not supported (1m or 5m)")
    assert timeframe is not None
    if timeframe is Timeframe.M1:
        days = min(days, 7)  # Yahoo serves 1m bars 7 days per request (protocols.md C3)
    wanted = [s.upper() for s in symbols]
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    download = downloader if downloader is not None else _yfinance_downloader(root)
    now = time.time_ns() if now_ns is None else now_ns

    def call() -> pd.DataFrame:
        return download(
            wanted,
            period=f"{days}d",
            interval=interval,
            prepost=False,
            auto_adjust=True,
            actions=False,
            progress=False,
            threads=False,
            group_by="column",
            multi_level_index=True,
            timeout=timeout,
        )

    reason = "offline or rate-limited?"
    try:
        frames = normalize_download(_call_with_timeout(call, timeout), wanted)
    except DataError:
        raise
    except TimeoutError as exc:
        frames, reason = {}, f"{exc}: network down or blocked?"
    except Exception as exc:  # yfinance raises transport and rate-limit errors of many kinds
        kind = type(exc).__name__
        hint = "rate-limited" if "RateLimit" in kind else "offline or rate-limited?"
        frames, reason = {}, f"{hint} ({kind}: {exc})"

    result: dict[str, BarSeries] = {}
    missing: list[str] = []
    for sym in wanted:
        path = cache_path(root, sym, interval)
        cached = load_file(path, symbol=sym, source="yahoo", timeframe=timeframe) if path.exists() else None
        fresh = frames.get(sym)
        if fresh is not None:
            ended = pd.DatetimeIndex(fresh["timestamp"]).as_unit("ns").asi8 + timeframe.ns <= now
            fresh = fresh[ended]  # the still-forming bar is not a bar yet
        if fresh is None or fresh.empty:
            if cached is not None and len(cached):
                last = pd.Timestamp(int(cached.ts[-1]), tz="UTC").tz_convert(_NY)
                logger.warning(
                    "Yahoo returned no data for %s: %s Using the cache at %s (%d bars, last %s).",
                    sym,
                    reason,
                    path,
                    len(cached),
                    last,
                )
                result[sym] = cached
            else:
                missing.append(sym)
            continue
        series = bars_from_frame(
            fresh, symbol=sym, label=f"yahoo {sym}", source="yahoo", sessions=sessions, timeframe=timeframe
        )
        merged = merge_series(cached, series)
        save_file(merged, path)
        result[sym] = merged
    if missing:
        raise DataError(
            f"Yahoo returned no data for {', '.join(missing)}: {reason} No cached bars to fall back on "
            f"(looked in {root / interval}). Try again later, or use --data DIR or --source sample."
        )
    return result
