"""Simulated venue throughput: the per-bar cost the engine pays for every bar of every symbol.

Times, on one core, over pre-built seeded 5m bars and prints for 5 symbols:
- ``on_bar`` / ``on_trade`` with no working orders (the common case: ~ a dict lookup; the engine
  calls ``on_bar`` once per bar);
- ``on_bar`` with resting orders that never fill, with the quiet-band fast path and without it
  (``fast=False``: the four-point path is built and scanned for every bar);
- a bracket round trip per symbol and session (submit, entry fill, OCO exit) in the base preset;
- ``snapshot`` + JSON + ``restore`` of a venue holding 500 working orders.
Run ``python benchmarks/bench_venue.py``.
"""

from __future__ import annotations

import json
import time

import numpy as np

from vibe_core.calendar import SessionTable, nyse_sessions
from vibe_core.config import PRESETS
from vibe_core.events import Bar, Trade
from vibe_core.models import Order
from vibe_core.sim.venue import Venue
from vibe_core.types import OrderType, Side, Timeframe, TimeInForce

SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
N_SESSIONS = 20
REPEATS = 3


def build_bars(sessions: SessionTable, seed: int = 11) -> list[Bar]:
    rng = np.random.default_rng(seed)
    price = rng.uniform(50, 500, size=len(SYMBOLS))
    bars: list[Bar] = []
    for session in sessions.sessions[:N_SESSIONS]:
        for ts in range(session.open, session.close, Timeframe.M5.ns):
            for i, symbol in enumerate(SYMBOLS):
                path = price[i] * np.cumprod(1.0 + rng.normal(0.0, 0.001, size=4))
                o, c = float(path[0]), float(path[-1])
                hi, lo = float(path.max()) * 1.0005, float(path.min()) * 0.9995
                price[i] = c
                bars.append(
                    Bar(
                        symbol=symbol,
                        timeframe=Timeframe.M5,
                        ts=ts,
                        open=round(o, 2),
                        high=round(hi, 2),
                        low=round(lo, 2),
                        close=round(c, 2),
                        volume=float(rng.integers(1_000, 50_000)),
                    )
                )
    return bars


def best_rate(n: int, run) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def make(sessions: SessionTable, preset: str = "base", *, fast: bool = True) -> Venue:
    return Venue(model=PRESETS[preset], seed=1, symbols=frozenset(SYMBOLS), sessions=sessions, fast=fast)


def main() -> None:
    sessions = nyse_sessions("2024-01-01", "2024-03-31")
    bars = build_bars(sessions)
    trades = [Trade(symbol=b.symbol, ts=b.ts, price=b.close, size=100.0) for b in bars]
    print(f"{len(bars):,} bars, {len(SYMBOLS)} symbols, {N_SESSIONS} sessions")

    def idle_bars() -> None:
        v = make(sessions)
        for b in bars:
            v.on_bar(b)

    def idle_trades() -> None:
        v = make(sessions)
        for t in trades:
            v.on_trade(t)

    def resting(fast: bool = True) -> None:
        v = make(sessions, fast=fast)
        first = sessions.sessions[0].open
        for i, symbol in enumerate(SYMBOLS):
            for k in range(3):  # far from the market: scanned at every point, never filled
                v.submit(
                    Order(
                        id=f"{symbol}-{k}",
                        symbol=symbol,
                        side=Side.BUY,
                        qty=10,
                        type=OrderType.LIMIT,
                        ts=first + i,
                        limit_price=1.0,
                        tif=TimeInForce.GTC,
                    )
                )
        for b in bars:
            v.on_bar(b)

    n_round_trips = 0

    def round_trips() -> None:
        nonlocal n_round_trips
        v = make(sessions)
        n_round_trips = 0
        entered: set[tuple[str, int]] = set()
        for b in bars:
            v.on_bar(b)
            day = sessions.index_at(b.ts)
            if (b.symbol, day) not in entered and b.ts - sessions.sessions[day].open >= 3 * Timeframe.M5.ns:
                entered.add((b.symbol, day))
                c = b.close
                v.submit(
                    Order(
                        id=f"{b.symbol}-{day}",
                        symbol=b.symbol,
                        side=Side.BUY,
                        qty=100,
                        ts=b.end,
                        stop_loss=round(c * 0.99, 2),
                        take_profit=round(c * 1.02, 2),
                    ),
                    cash=1e6,
                )
                n_round_trips += 1
            if b.ts + Timeframe.M5.ns >= sessions.sessions[day].close:
                v.on_clock(sessions.sessions[day].close)

    rate = best_rate(len(bars), idle_bars)
    print(f"on_bar, no working orders:      {rate:12,.0f} bars/s  ({1e6 / rate:.2f} us/bar)")
    rate = best_rate(len(trades), idle_trades)
    print(f"on_trade, no working orders:    {rate:12,.0f} prints/s ({1e6 / rate:.2f} us/print)")
    rate = best_rate(len(bars), resting)
    print(f"on_bar, 3 resting orders/sym:   {rate:12,.0f} bars/s  ({1e6 / rate:.2f} us/bar)")
    rate = best_rate(len(bars), lambda: resting(fast=False))
    print(f"  the same, fast=False (naive):  {rate:12,.0f} bars/s  ({1e6 / rate:.2f} us/bar)")
    rate = best_rate(len(bars), round_trips)
    print(f"on_bar + 1 bracket/sym/session: {rate:12,.0f} bars/s  ({n_round_trips} round trips, base preset)")

    v = make(sessions)
    ts = sessions.sessions[0].open
    for k in range(500):
        v.submit(
            Order(
                id=f"O-{k}",
                symbol=SYMBOLS[k % 5],
                side=Side.BUY,
                qty=10,
                type=OrderType.LIMIT,
                ts=ts,
                limit_price=1.0,
                tif=TimeInForce.GTC,
                stop_loss=0.5,
                take_profit=2.0,
            )
        )
    text = json.dumps(v.snapshot())
    rate = best_rate(1, lambda: Venue.restore(json.loads(json.dumps(v.snapshot())), v.model, sessions))
    print(f"snapshot+json+restore, 500 orders: {1e3 / rate:.1f} ms ({len(text) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
