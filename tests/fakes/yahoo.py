"""A fake yfinance download that never touches the network, with yfinance 1.7.0's real output.

:class:`FakeYahoo` is a ``downloader`` for :func:`vibe_backtest.yahoo.fetch_yahoo`. It runs the
real ``yfinance.download`` (its concat, outer join on timestamps, column sort and per-ticker
error swallowing) over a fake ``Ticker`` whose ``history()`` serves stored bars shaped like
yfinance's (index ``Datetime``, ``datetime64[us, America/New_York]``, ``Volume`` int64), or
fails the way Yahoo does (protocols.md C4):

- ``offline=True``: every ticker raises curl_cffi's ``DNSError``; download() returns an EMPTY
  frame of shape (0, 6) whose columns include ``Adj Close``;
- ``failing={"TSLA": YFRateLimitError()}``: that ticker's columns come back all NaN, plus a
  stray ``('Adj Close', 'TSLA')`` column;
- ``sleep=5.0``: a black-holed network; answers nothing for ``sleep`` seconds.

Bars come from the shared real Yahoo files when present, otherwise from the seeded sample market.
``VIBE_TEST_NO_SHARED=1`` hides the shared files, to run here what a fresh clone (CI) runs.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import yfinance  # imported early: it adds a warnings filter on import, which must not outrank pytest's
import yfinance.multi

from vibe_backtest.data import BarSeries

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "yahoo-5m-2024-05"
NY = "America/New_York"
_PATCH_LOCK = threading.Lock()


def history_frame(
    ts_ns: Iterable[int] | np.ndarray,
    open_: Iterable[float],
    high: Iterable[float],
    low: Iterable[float],
    close: Iterable[float],
    volume: Iterable[float],
    *,
    actions: bool = True,
    utc: bool = False,
) -> pd.DataFrame:
    """A ``Ticker.history(interval="5m")`` frame; ``utc=True`` mimics yfinance < 1.4."""
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, dtype=np.int64), unit="ns", utc=True))
    index = index.tz_convert("UTC" if utc else NY).as_unit("us").rename("Datetime")
    frame = pd.DataFrame(
        {
            "Open": np.asarray(open_, dtype=np.float64),
            "High": np.asarray(high, dtype=np.float64),
            "Low": np.asarray(low, dtype=np.float64),
            "Close": np.asarray(close, dtype=np.float64),
            "Volume": np.asarray(volume, dtype=np.float64).astype(np.int64),
        },
        index=index,
    )
    if actions:
        frame["Dividends"] = 0.0
        frame["Stock Splits"] = 0.0
    return frame


def shared_dir() -> Path | None:
    """The shared real Yahoo bars' folder; ``None`` when absent or hidden by ``VIBE_TEST_NO_SHARED=1``."""
    if os.environ.get("VIBE_TEST_NO_SHARED", "") not in ("", "0") or not SHARED.is_dir():
        return None
    return SHARED


def series_history(series: BarSeries, *, utc: bool = False) -> pd.DataFrame:
    """``series`` as the history frame Yahoo would send for it."""
    return history_frame(
        series.ts, series.open, series.high, series.low, series.close, series.volume, utc=utc
    )


def shared_history(symbol: str, *, utc: bool = False) -> pd.DataFrame | None:
    """The shared real bars of ``symbol`` as a history frame, or ``None`` when absent or hidden."""
    folder = shared_dir()
    path = None if folder is None else folder / f"{symbol.upper()}.csv"
    if path is None or not path.is_file():
        return None
    raw = pd.read_csv(path)
    stamps = pd.DatetimeIndex(pd.to_datetime(raw["Date Time"])).tz_localize(NY).as_unit("ns")
    return history_frame(
        stamps.asi8, raw["Open"], raw["High"], raw["Low"], raw["Close"], raw["Volume"], utc=utc
    )


def generated_market(symbols: Iterable[str], *, seed: int = 7) -> dict[str, BarSeries]:
    """Seeded sample bars (source ``yahoo``) for the shared data's 19 sessions, 2024-05-01 .. 2024-05-28."""
    from vibe_backtest.sample import sample_market

    market = sample_market(list(symbols), n_sessions=19, end=dt.date(2024, 5, 28), seed=seed)
    return {sym: attrs.evolve(series, source="yahoo") for sym, series in market.items()}


def generated_history(symbol: str, *, seed: int = 7, utc: bool = False) -> pd.DataFrame:
    """Seeded sample bars of ``symbol`` for the shared data's span (2024-05-01 .. 2024-05-28)."""
    return series_history(generated_market([symbol], seed=seed)[symbol.upper()], utc=utc)


def default_bars(symbols: Iterable[str], *, utc: bool = False) -> dict[str, pd.DataFrame]:
    """Real shared bars where available, generated bars otherwise."""
    out = {}
    for sym in symbols:
        frame = shared_history(sym, utc=utc)
        out[sym.upper()] = frame if frame is not None else generated_history(sym, utc=utc)
    return out


def offline_error() -> Exception:
    from curl_cffi.requests.exceptions import DNSError

    return DNSError("Failed to resolve host: query2.finance.yahoo.com")


def rate_limit_error() -> Exception:
    return yfinance.exceptions.YFRateLimitError()


class _FakeTicker:
    """Stands in for ``yfinance.Ticker`` inside the real ``download()``."""

    def __init__(self, symbol: str, owner: FakeYahoo) -> None:
        self.ticker = symbol.upper()
        self._owner = owner
        self._price_history = None  # download() reads it for soft errors

    def history(self, period: Any = None, interval: str = "1d", auto_adjust: bool = True, **_: Any) -> Any:
        owner = self._owner
        if owner.offline:
            raise offline_error()
        if self.ticker in owner.failing:
            raise owner.failing[self.ticker]
        frame = owner.bars.get(self.ticker)
        if frame is None or interval != "5m":
            raise KeyError(f"${self.ticker}: possibly delisted; no price data found")
        frame = frame.drop(columns=["Dividends", "Stock Splits"], errors="ignore").copy()
        if owner.now_ns is not None and isinstance(period, str) and period.endswith("d"):
            first = owner.now_ns - int(period[:-1]) * 86_400 * 10**9
            stamps = frame.index.as_unit("ns").asi8
            frame = frame[(stamps >= first) & (stamps <= owner.now_ns)]
        if not auto_adjust:
            frame.insert(4, "Adj Close", frame["Close"])
        return frame


@attrs.define
class FakeYahoo:
    """A ``yf.download`` replacement: ``fake(tickers, **options)``; every call is recorded."""

    bars: Mapping[str, pd.DataFrame] = attrs.Factory(dict)
    failing: Mapping[str, Exception] = attrs.Factory(dict)
    offline: bool = False
    sleep: float = 0.0
    now_ns: int | None = None  #: serve only the ``period`` before this instant, like Yahoo
    calls: list[dict[str, Any]] = attrs.Factory(list)

    def __call__(self, tickers: Any, **options: Any) -> pd.DataFrame:
        self.calls.append({"tickers": tickers, **options})
        if self.sleep:
            time.sleep(self.sleep)
            return pd.DataFrame()
        options = {**options, "threads": False, "progress": False}
        with _PATCH_LOCK:
            real = yfinance.multi.Ticker
            yfinance.multi.Ticker = lambda symbol, *a, **k: _FakeTicker(symbol, self)
            try:
                return yfinance.download(tickers, **options)
            finally:
                yfinance.multi.Ticker = real
