"""Data layer speed and size: the merged ``Bar`` stream, file loading, the sample market.

- ``iter_bars``: 5 symbols x 1 year of 5m bars merged by time into ``Bar`` objects (target:
  >= 200,000 bars/s, the backtest loop's appetite);
- ``load_file``: one symbol, 10 years of 5m bars (~196k rows) from CSV and from Parquet, with the
  session filter on; and the in-memory size of that series (target: a few MB);
- ``sample_market``: the default 60-session, 5-symbol sample.
Run ``python benchmarks/bench_data.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from vibe_backtest.data import BarSeries, iter_bars, load_file, save_file
from vibe_backtest.sample import sample_market
from vibe_core.calendar import nyse_sessions
from vibe_core.types import Timeframe

TARGET_BARS_PER_S = 200_000
REPEATS = 3


def ten_years(symbol: str = "AAPL", seed: int = 7) -> tuple[BarSeries, object]:
    sessions = nyse_sessions("2014-01-01", "2023-12-31")
    ts = np.concatenate(
        [s.open + 300 * 10**9 * np.arange((s.close - s.open) // (300 * 10**9)) for s in sessions.sessions]
    )
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.001, len(ts)))), 2)
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    volume = rng.integers(1_000, 1_000_000, len(ts)).astype(float)
    series = BarSeries(
        symbol=symbol,
        timeframe=Timeframe.M5,
        source="file",
        ts=ts,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
    )
    return series, sessions


def best(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    table = nyse_sessions("2023-01-01", "2024-12-31")
    year = sample_market(sessions=table, n_sessions=252, end=table.sessions[-1].date)
    n = sum(len(s) for s in year.values())

    def drain() -> None:
        for _ in iter_bars(year):
            pass

    secs = best(drain)
    rate = n / secs
    print(
        f"iter_bars: {n:,} bars (5 symbols x 252 sessions) in {secs:.3f} s = {rate:,.0f} bars/s "
        f"(target >= {TARGET_BARS_PER_S:,}: {'ok' if rate >= TARGET_BARS_PER_S else 'MISSED'})"
    )

    secs = best(lambda: sample_market(sessions=table))
    print(f"sample_market: default 60 sessions x 5 symbols in {secs:.3f} s")

    series, sessions = ten_years()
    print(f"BarSeries: 10 years of 5m bars, {len(series):,} rows, {series.nbytes / 2**20:.1f} MiB in memory")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "parquet"):
            path = save_file(series, Path(tmp) / f"AAPL.{fmt}")
            size = path.stat().st_size / 2**20
            secs = best(lambda p=path: load_file(p, sessions=sessions))  # type: ignore[misc]
            print(
                f"load_file {fmt:8s}: {len(series):,} rows ({size:.1f} MiB file) in {secs:.3f} s "
                f"= {len(series) / secs:,.0f} rows/s"
            )


if __name__ == "__main__":
    main()
