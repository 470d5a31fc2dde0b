"""Warm-up from the Parquet cache: how long a live start spends on it (issue 16).

The cache holds 60 sessions of 5m bars for the config's 5 default symbols (the seeded sample market
written where the Yahoo source keeps it, ``<cache>/5m/SYMBOL.parquet``), so no download is made. Times:
- reading the cache and cutting the warm-up bars (:meth:`YahooHistory.fetch` + ``warmup_bars``);
- the whole warm-up of a fresh service store: the above plus logging and stepping the events
  (``Journal.feed``), as :meth:`HistoryKeeper.warm_up` does at start.
Run ``python benchmarks/bench_history.py``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import anyio
import attrs

from vibe_backtest.api import calendar
from vibe_backtest.data import save_file
from vibe_backtest.sample import sample_market
from vibe_backtest.yahoo import cache_path
from vibe_core.engine import new_state
from vibe_live.history import make_history
from vibe_live.history.warmup import covered_end, warmup_bars, warmup_plan
from vibe_live.recovery import Journal
from vibe_live.settings import Settings
from vibe_live.store import Store

REPEATS = 5
ROOT = Path(__file__).resolve().parents[1] / "var"


def main() -> None:
    ROOT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-history-", dir=ROOT))
    try:
        run(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path) -> None:
    sessions = calendar()
    settings = Settings()
    symbols = settings.core.symbols
    market = sample_market(list(symbols), sessions=sessions, n_sessions=60, end=dt.date(2024, 7, 26))
    cache = folder / "cache"
    for symbol, series in market.items():
        save_file(series, cache_path(cache, symbol))
    live_day = sessions.next_session(int(max(s.ts[-1] for s in market.values())))
    assert live_day is not None
    until = live_day.open
    settings = attrs.evolve(settings, data=attrs.evolve(settings.data, cache_dir=str(cache)))
    keeper = make_history(settings, sessions, downloader=_no_network, until_ns=until)
    plan = warmup_plan(settings.core, sessions, until)

    def read() -> tuple[float, int]:
        started = time.perf_counter()
        got = keeper.yahoo.fetch(
            symbols, since_ns=plan.start_ns, until_ns=until, covered_by=covered_end(sessions, until)
        )
        bars = warmup_bars(got.bars, start_ns=plan.start_ns, until_ns=until)
        assert got.attempts == 0, "the cache should cover the warm-up"
        return time.perf_counter() - started, len(bars)

    def whole() -> float:
        path = folder / "warm.db"
        for p in folder.glob("warm.db*"):
            p.unlink()
        with Store(path) as store:
            journal = Journal.resume(store, lambda: new_state(settings.core, sessions))

            async def go() -> None:
                async for group in keeper.warm_up(journal.state, store, now_ns=None, notifier=None):
                    journal.feed(group)

            started = time.perf_counter()
            anyio.run(go)
            return time.perf_counter() - started

    reads = [read() for _ in range(REPEATS)]
    n_bars = reads[0][1]
    t_read = min(t for t, _ in reads)
    t_whole = min(whole() for _ in range(REPEATS))
    print(f"warm-up from the cache: {len(symbols)} symbols, {plan.sessions} sessions, {n_bars:,} 5m bars")
    print(f"  read cache + cut bars:          {t_read * 1e3:8.1f} ms")
    print(f"  whole warm-up (log + step too): {t_whole * 1e3:8.1f} ms  ({n_bars / t_whole:,.0f} bars/s)")


def _no_network(*args: object, **kwargs: object) -> object:
    raise AssertionError("the benchmark must not download")


if __name__ == "__main__":
    main()
