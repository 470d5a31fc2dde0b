"""Indicator bank: throughput and bounded memory.

The engine's bank: EMA(20)@15m, EMA(20)@1h, ATR(14)@5m and SMA(20 of volume)@5m, fed 5m bars plus
the 15m and 1h bars built from them (every 3 and 12 bars; no sessions, it is only load). Prints
5m bars per second, the size and speed of a snapshot, and the bank's retained memory (the size of
every object reachable from it) after 10^4 and after 10^6 5m bars: bounded history means the two
should be within about 1 MiB.

    python benchmarks/bench_indicators.py [n_speed_bars] [n_memory_bars]
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import types
from collections.abc import Iterator

import numpy as np

from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.types import Timeframe

SPECS = [IndicatorSpec.parse(k) for k in ("ema20@15m", "ema20@1h", "atr14@5m", "sma20.volume@5m")]
T0 = 1_704_067_200 * 1_000_000_000  # 2024-01-01 UTC
CHUNK = 10_000


def bar_stream(n: int, seed: int = 7, symbol: str = "AAPL") -> Iterator[Bar]:
    """``n`` 5m bars (a random walk), each followed by the 15m/1h bar it completes, made lazily."""
    rng = np.random.default_rng(seed)
    price = 100.0
    agg: dict[Timeframe, list[float]] = {}
    m5, sizes = Timeframe.M5, {Timeframe.M15: 3, Timeframe.H1: 12}
    for start in range(0, n, CHUNK):
        k = min(CHUNK, n - start)
        rets = rng.normal(0, 0.002, k)
        wicks = np.abs(rng.normal(0, 0.001, (2, k)))
        vols = rng.integers(1_000, 100_000, k)
        for j in range(k):
            i = start + j
            o = price
            c = o * (1 + float(rets[j]))
            h = max(o, c) * (1 + float(wicks[0, j]))
            lo = min(o, c) * (1 - float(wicks[1, j]))
            v = float(vols[j])
            price = c
            ts = T0 + i * m5.ns
            yield Bar(symbol=symbol, timeframe=m5, ts=ts, open=o, high=h, low=lo, close=c, volume=v)
            for tf, size in sizes.items():
                a = agg.get(tf)
                if a is None:
                    agg[tf] = [o, h, lo, c, v, ts]
                else:
                    a[1], a[2], a[3], a[4] = max(a[1], h), min(a[2], lo), c, a[4] + v
                if (i + 1) % size == 0:
                    a = agg.pop(tf)
                    yield Bar(
                        symbol=symbol,
                        timeframe=tf,
                        ts=int(a[5]),
                        open=a[0],
                        high=a[1],
                        low=a[2],
                        close=a[3],
                        volume=a[4],
                    )


def bench_speed(n: int) -> None:
    bars = list(bar_stream(n))
    bank = IndicatorBank(SPECS, symbols=["AAPL"])
    on_bar = bank.on_bar
    t = time.perf_counter()
    for b in bars:
        on_bar(b)
    elapsed = time.perf_counter() - t
    updates = sum(1 for b in bars if b.timeframe is Timeframe.M5) * 2 + sum(
        1 for b in bars if b.timeframe is not Timeframe.M5
    )
    print(f"speed: {n:,} 5m bars ({len(bars):,} bar events incl. 15m/1h) in {elapsed:.2f} s")
    print(f"  {n / elapsed:,.0f} 5m bars/s, {len(bars) / elapsed:,.0f} bar events/s")
    print(f"  {elapsed / n * 1e6:.2f} us per 5m bar (with its share of 15m/1h bars)")
    print(f"  {updates / elapsed:,.0f} indicator updates/s")


def deep_size(root: object) -> int:
    """Bytes of every object reachable from ``root`` (classes, modules and functions excluded)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def rss() -> int:
    """Resident set size in bytes (Linux /proc), 0 where unavailable."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def bench_memory(n_small: int, n_large: int) -> None:
    bank = IndicatorBank(SPECS, symbols=["AAPL"])
    sizes: dict[int, tuple[int, int]] = {}
    five = 0
    t = time.perf_counter()
    for b in bar_stream(n_large):
        bank.on_bar(b)
        if b.timeframe is Timeframe.M5:
            five += 1
            if five in (n_small, n_large):
                gc.collect()
                sizes[five] = (deep_size(bank), rss())
    elapsed = time.perf_counter() - t
    (small, rss_small), (large, rss_large) = sizes[n_small], sizes[n_large]
    diff = (large - small) / 2**20
    print(f"memory (bank's reachable objects, gc.get_referents + getsizeof; {elapsed:.0f} s):")
    print(
        f"  after {n_small:>9,} 5m bars: {small / 2**20:7.3f} MiB (process RSS {rss_small / 2**20:.1f} MiB)"
    )
    print(
        f"  after {n_large:>9,} 5m bars: {large / 2**20:7.3f} MiB (process RSS {rss_large / 2**20:.1f} MiB)"
    )
    print(f"  difference: {diff:+.3f} MiB ({'within' if abs(diff) <= 1 else 'OVER'} the 1 MiB target)")
    print(f"  kept history per indicator: { {key: bank.history_len('AAPL', key) for key in bank.keys} }")


def bench_snapshot() -> None:
    bank = IndicatorBank(SPECS, symbols=["AAPL"])
    for b in bar_stream(20_000):
        bank.on_bar(b)
    t = time.perf_counter()
    text = json.dumps(bank.snapshot())
    t_dump = time.perf_counter() - t
    t = time.perf_counter()
    IndicatorBank.restore(json.loads(text))
    t_load = time.perf_counter() - t
    print(
        f"snapshot of the full bank (1 symbol): {len(text) / 1024:.0f} KiB JSON, "
        f"snapshot+dumps {t_dump * 1e3:.1f} ms, loads+restore {t_load * 1e3:.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    n_speed = int(args[0]) if args else 200_000
    n_memory = int(args[1]) if len(args) > 1 else 1_000_000
    bench_speed(n_speed)
    bench_snapshot()
    bench_memory(10_000, n_memory)


if __name__ == "__main__":
    main()
