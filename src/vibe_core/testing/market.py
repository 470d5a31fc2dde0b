"""Builders of market data for tests and benchmarks: hand-written days and seeded random days.

State: none: pure functions (numpy generators are seeded by the caller).
Consumes: sessions, OHLCV rows or a seeded generator, lists of bars.
Emits: 5m bars inside real sessions; event streams with a ``Clock`` at each close; the same
stream as ``BarSlice`` s.
Invariants: bars are on the session's grid and inside it (a row past the close raises, naming
the row and the date); the same generator state gives the same day.

Pure (numpy generators are seeded by the caller). Bars are 5m, stamped at their open inside a real
session; ``events_for`` interleaves a ``Clock`` at each session close, as the backtest loop does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from vibe_core.calendar import Session
from vibe_core.events import Bar, BarSlice, Clock, Event, Trade
from vibe_core.sim.points import bar_points
from vibe_core.types import Timeframe

__all__ = ["day_bars", "random_day", "events_for", "OHLCV"]

OHLCV = tuple[float, float, float, float, float]


def day_bars(
    session: Session,
    symbol: str,
    rows: Sequence[OHLCV],
    *,
    first_slot: int = 0,
    skip: Iterable[int] = (),
    source: str = "test",
    timeframe: Timeframe = Timeframe.M5,
) -> list[Bar]:
    """Bars from ``(open, high, low, close, volume)`` rows, slot 0 = the session open.

    Slots listed in ``skip`` are left out (missing bars), keeping later rows on their own slots.
    """
    skipped = set(skip)
    out: list[Bar] = []
    slot = first_slot
    for o, h, lo, c, v in rows:
        while slot in skipped:
            slot += 1
        ts = session.open + slot * timeframe.ns
        if ts >= session.close:
            raise ValueError(f"row {slot} of {symbol} is after the close of {session.date}")
        out.append(
            Bar(
                symbol=symbol,
                timeframe=timeframe,
                ts=ts,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=v,
                source=source,
            )
        )
        slot += 1
    return out


def random_day(
    session: Session,
    symbol: str,
    rng: np.random.Generator,
    *,
    start: float,
    volatility: float = 0.002,
    drift: float = 0.0,
    gap: float = 0.0,
    volume: float = 100_000.0,
    source: str = "test",
) -> list[Bar]:
    """A full session of consistent 5m bars (a random walk with U-shaped volume), cent prices."""
    n = int((session.close - session.open) // Timeframe.M5.ns)
    rets = rng.normal(drift, volatility, size=n)
    closes = start * (1 + gap) * np.exp(np.cumsum(rets))
    opens = np.concatenate([[start * (1 + gap)], closes[:-1]])
    wick = np.abs(rng.normal(0, volatility, size=(2, n))) * closes
    highs = np.maximum(opens, closes) + wick[0]
    lows = np.minimum(opens, closes) - wick[1]
    x = np.linspace(-1, 1, n)
    vols = volume * (0.6 + 1.4 * x**2) * rng.uniform(0.5, 1.5, size=n)
    rows = [
        (round(float(o), 2), round(float(h), 2), round(float(lo), 2), round(float(c), 2), float(int(v)))
        for o, h, lo, c, v in zip(opens, highs, lows, closes, vols, strict=True)
    ]
    rows = [(o, max(h, o, c), min(lo, o, c), c, v) for o, h, lo, c, v in rows]
    return day_bars(session, symbol, rows, source=source)


def events_for(days: Sequence[tuple[Session, Sequence[Sequence[Bar]]]]) -> list[Event]:
    """Per session, all symbols' bars merged by time (ties in symbol order), then a Clock at the close."""
    events: list[Event] = []
    for session, per_symbol in days:
        merged = sorted(
            (bar for bars in per_symbol for bar in bars),
            key=lambda b: b.ts,
        )
        events.extend(merged)
        events.append(Clock(ts=session.close))
    return events


def as_slices(events: Iterable[Event]) -> list[Event]:
    """``events`` with each run of ``Bar`` s sharing an open time made one ``BarSlice`` (bar mode)."""
    out: list[Event] = []
    run: list[Bar] = []
    for event in events:
        if run and not (isinstance(event, Bar) and event.ts == run[0].ts):
            out.append(BarSlice(ts=run[0].ts, bars=tuple(run)))
            run = []
        if isinstance(event, Bar):
            run.append(event)
        else:
            out.append(event)
    if run:
        out.append(BarSlice(ts=run[0].ts, bars=tuple(run)))
    return out


def as_prints(events: Iterable[Event]) -> list[Event]:
    """``events`` with each ``Bar`` replaced by its four points as trade prints (what the live
    shell's replay feed sends), merged in time; other events keep their place among them."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Bar):
            out.extend(
                Trade(symbol=event.symbol, ts=p.ts, price=p.price, size=p.liquidity)
                for p in bar_points(event)
            )
        else:
            out.append(event)
    out.sort(key=lambda e: e.ts)  # stable: at equal times symbols keep their order
    return out
