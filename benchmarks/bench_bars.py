"""Bar aggregation throughput: trade prints through 5m + 15m + 1h bars on one core.

Builds ~1.5 million seeded prints for 5 symbols over 10 NYSE sessions (a few outside the regular
session, as a real feed sends), pre-builds the ``Trade`` objects, then times
``BarAggregator.on_trade`` over all of them plus a final ``Clock``. Target: >= 300,000 prints/s.
Also times bar mode: the emitted 5m bars fed back through ``on_bar``.
Run ``python benchmarks/bench_bars.py`` (``--profile`` adds a cProfile listing).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from vibe_core.bars import BarAggregator
from vibe_core.calendar import SessionTable, nyse_sessions
from vibe_core.events import Bar, Trade
from vibe_core.types import NS_PER_MINUTE, Timeframe

SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
N_SESSIONS = 10
PRINTS_PER_SESSION = 150_000
OUTSIDE_FRACTION = 0.02  #: share of prints in the hour before the open / after the close
TARGET = 300_000
REPEATS = 3


def build_trades(sessions: SessionTable, seed: int = 7) -> list[Trade]:
    """Seeded prints in time order, symbols interleaved, random-walk prices and integer sizes."""
    rng = np.random.default_rng(seed)
    trades: list[Trade] = []
    price = rng.uniform(50, 500, size=len(SYMBOLS))
    for session in sessions.sessions[:N_SESSIONS]:
        n_out = int(PRINTS_PER_SESSION * OUTSIDE_FRACTION)
        inside = rng.integers(session.open, session.close, size=PRINTS_PER_SESSION - n_out)
        outside = np.concatenate(
            [
                rng.integers(session.open - 60 * NS_PER_MINUTE, session.open, size=n_out // 2),
                rng.integers(session.close, session.close + 60 * NS_PER_MINUTE, size=n_out - n_out // 2),
            ]
        )
        ts = np.sort(np.concatenate([inside, outside]))
        sym = rng.integers(0, len(SYMBOLS), size=ts.size)
        steps = rng.normal(0.0, 0.0004, size=ts.size)
        sizes = rng.integers(1, 500, size=ts.size)
        for t, s, r, q in zip(ts.tolist(), sym.tolist(), steps.tolist(), sizes.tolist(), strict=True):
            price[s] *= 1.0 + r
            trades.append(Trade(symbol=SYMBOLS[s], ts=t, price=round(float(price[s]), 2), size=float(q)))
    return trades


def run_once(sessions: SessionTable, trades: list[Trade]) -> tuple[float, BarAggregator, list[Bar]]:
    agg = BarAggregator(sessions=sessions)
    on_trade = agg.on_trade
    emitted: list[Bar] = []
    extend = emitted.extend
    start = time.perf_counter()
    for trade in trades:
        closed = on_trade(trade)
        if closed:
            extend(closed)
    extend(agg.on_clock(trades[-1].ts + 24 * 60 * NS_PER_MINUTE))
    return time.perf_counter() - start, agg, emitted


def main() -> None:
    sessions = nyse_sessions("2024-03-04", "2024-04-30")
    t0 = time.perf_counter()
    trades = build_trades(sessions)
    print(
        f"built {len(trades):,} prints for {len(SYMBOLS)} symbols over {N_SESSIONS} sessions "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    best = float("inf")
    agg: BarAggregator | None = None
    emitted: list[Bar] = []
    for _ in range(REPEATS):
        elapsed, agg, emitted = run_once(sessions, trades)
        best = min(best, elapsed)
    assert agg is not None
    rate = len(trades) / best
    counts = {tf.label: sum(1 for b in emitted if b.timeframe is tf) for tf in Timeframe}
    print(f"bars emitted: {counts}; outside session: {agg.outside_session:,}; late: {agg.late_prints:,}")
    print(
        f"on_trade: best of {REPEATS}: {best:.3f} s = {rate:,.0f} prints/s "
        f"({1e9 / rate:.0f} ns/print; target {TARGET:,}/s: {'met' if rate >= TARGET else 'MISSED'})"
    )
    fives = [b for b in emitted if b.timeframe is Timeframe.M5]
    bar_best = float("inf")
    for _ in range(REPEATS):
        fresh = BarAggregator(sessions=sessions)
        on_bar = fresh.on_bar
        start = time.perf_counter()
        for b in fives:
            on_bar(b)
        bar_best = min(bar_best, time.perf_counter() - start)
    print(f"on_bar (bar mode, 5m in -> 5m+15m+1h out): {len(fives) / bar_best:,.0f} bars/s")
    if "--profile" in sys.argv:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run_once, sessions, trades)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
