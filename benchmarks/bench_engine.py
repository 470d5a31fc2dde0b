"""Bars/s through the full engine step (ORB + validation + risk + venue + portfolio), 5 symbols, 5m bars.

Bars are generated and built before timing; the clock runs over ``step`` only (and the session
``Clock`` events a backtest adds). Bars go in as a backtest sends them: one ``BarSlice`` (every
symbol's bar) per 5m step; the default config is also shown with one ``Bar`` event per symbol.
The generated events are moved out of the garbage collector's sight (``gc.freeze``): they are the
benchmark's input, which a backtest streams instead of holding. Targets: >= 100,000 bars/s with
the default config and >= 250,000 bars/s with validation off and the optimistic preset.

    python benchmarks/bench_engine.py [--sessions 252]
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

from vibe_core.calendar import nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, step
from vibe_core.events import Bar, BarSlice
from vibe_core.testing.market import as_slices, events_for, random_day

SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
START = {"AAPL": 190.0, "MSFT": 420.0, "AMZN": 180.0, "TSLA": 180.0, "GOOGL": 170.0}


def make_events(n_sessions: int):
    table = nyse_sessions("2022-01-01", "2025-12-31")
    rng = np.random.default_rng(11)
    days = []
    prices = dict(START)
    for session in table.sessions[:n_sessions]:
        per_symbol = []
        for sym in SYMBOLS:
            bars = random_day(
                session,
                sym,
                rng,
                start=prices[sym],
                volatility=0.002,
                drift=float(rng.choice([-0.0004, 0.0, 0.0004])),
                gap=float(rng.normal(0, 0.005)),
            )
            prices[sym] = bars[-1].close
            per_symbol.append(bars)
        days.append((session, per_symbol))
    return table, events_for(days)


def measure(label: str, overrides: dict, table, events, repeat: int = 5) -> float:
    cfg = config_from_dict({"symbols": list(SYMBOLS), **overrides})
    n_bars = sum(len(e.bars) if isinstance(e, BarSlice) else isinstance(e, Bar) for e in events)
    best = float("inf")
    for _ in range(repeat):
        state = new_state(cfg, table)
        gc.collect()
        t0 = time.perf_counter()
        for e in events:
            state, _ = step(state, e)
        best = min(best, time.perf_counter() - t0)
    rate = n_bars / best
    print(f"{label:<40} {n_bars:>9,} bars  {best:7.3f} s  {rate:>10,.0f} bars/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=252)
    args = parser.parse_args()
    table, events = make_events(args.sessions)
    slices = as_slices(events)
    gc.freeze()
    print(f"engine step, 5 symbols x {args.sessions} sessions of 5m bars (best of 5)")
    measure("default config", {}, table, slices)
    measure(
        "validation off, optimistic preset",
        {"validation": {"enabled": False}, "exchange": {"preset": "optimistic"}},
        table,
        slices,
    )
    measure("default config, one Bar event per symbol", {}, table, events)


if __name__ == "__main__":
    main()
