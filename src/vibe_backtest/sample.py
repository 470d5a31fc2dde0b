"""A deterministic sample market: seeded 5m bars on real NYSE sessions, for demos and tests.

Same seed, same sessions -> identical bars. Each symbol draws from its own generator, keyed by the
seed and the symbol's name, so adding a symbol never changes the others.

What the generator puts in, so an Opening Range Breakout has something to find:
- real sessions from the calendar (holidays skipped, 13:00 early closes end with the 12:55 bar);
- per-symbol price levels and volatility (TSLA about twice as volatile as the others);
- opening gaps, occasionally large;
- day types: trend days (a drift after the opening range plus one strong impulse bar) and range
  days (mean reversion to the open, so breakouts often fail and stop out);
- U-shaped intraday volume, heavier on trend and gap days and on strong bars, so a volume
  confirmation rule passes on some breakouts and not on others.
Bars are consistent: prices in cents, ``low <= open, close <= high``, integer volumes.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import attrs
import numpy as np

from vibe_backtest.data import BarSeries, save_file
from vibe_core.calendar import SessionTable, nyse_sessions
from vibe_core.config import MVP_SYMBOLS
from vibe_core.types import Timeframe

__all__ = ["SymbolProfile", "PROFILES", "SAMPLE_END", "sample_market", "sample_sessions", "write_sample"]

#: The default span: the 60 sessions ending here start on 2024-05-01 and include Memorial Day,
#: Juneteenth, the 13:00 early close of 2024-07-03 and Independence Day.
SAMPLE_END = dt.date(2024, 7, 26)

_BAR = Timeframe.M5
#: The mean of the volume multipliers below (U shape x move strength x day type x noise), so a
#: profile's ``volume`` is about the mean 5m volume of the sample.
_VOLUME_NORM = 1.05


@attrs.frozen(kw_only=True)
class SymbolProfile:
    """Starting price, daily volatility (stdev of log returns) and mean 5m volume of a symbol."""

    price: float
    daily_vol: float
    volume: float


PROFILES: dict[str, SymbolProfile] = {
    "AAPL": SymbolProfile(price=190.0, daily_vol=0.015, volume=550_000),
    "MSFT": SymbolProfile(price=420.0, daily_vol=0.013, volume=260_000),
    "AMZN": SymbolProfile(price=180.0, daily_vol=0.018, volume=480_000),
    "TSLA": SymbolProfile(price=180.0, daily_vol=0.035, volume=1_300_000),
    "GOOGL": SymbolProfile(price=170.0, daily_vol=0.017, volume=330_000),
}


def _profile(symbol: str) -> SymbolProfile:
    known = PROFILES.get(symbol)
    if known is not None:
        return known
    key = zlib.crc32(symbol.encode())
    return SymbolProfile(price=float(20 + key % 480), daily_vol=0.02, volume=float(100_000 + key % 400_000))


def sample_sessions(
    sessions: SessionTable | None = None, *, n_sessions: int = 60, end: dt.date = SAMPLE_END
) -> SessionTable:
    """The last ``n_sessions`` regular sessions on or before ``end``."""
    if n_sessions <= 0:
        raise ValueError(f"n_sessions must be > 0, got {n_sessions}")
    if sessions is None:
        sessions = nyse_sessions(end - dt.timedelta(days=n_sessions * 7 // 4 + 14), end)
    chosen = tuple(s for s in sessions.sessions if s.date <= end)[-n_sessions:]
    if len(chosen) < n_sessions:
        raise ValueError(
            f"the session table has only {len(chosen)} sessions up to {end}, {n_sessions} wanted"
        )
    return SessionTable(chosen)


def sample_market(
    symbols: Sequence[str] = MVP_SYMBOLS,
    *,
    sessions: SessionTable | None = None,
    n_sessions: int = 60,
    end: dt.date = SAMPLE_END,
    seed: int = 7,
) -> dict[str, BarSeries]:
    """Seeded 5m bars for ``symbols`` over the last ``n_sessions`` sessions up to ``end``."""
    table = sample_sessions(sessions, n_sessions=n_sessions, end=end)
    return {s.upper(): _symbol_bars(s.upper(), table, seed) for s in symbols}


def write_sample(
    out_dir: str | Path,
    fmt: Literal["csv", "parquet"] = "csv",
    *,
    symbols: Sequence[str] = MVP_SYMBOLS,
    sessions: SessionTable | None = None,
    n_sessions: int = 60,
    end: dt.date = SAMPLE_END,
    seed: int = 7,
) -> list[Path]:
    """Write ``SYMBOL.<fmt>`` files that :func:`vibe_backtest.data.load_dir` reads back exactly."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}; expected csv or parquet")
    market = sample_market(symbols, sessions=sessions, n_sessions=n_sessions, end=end, seed=seed)
    return [save_file(series, Path(out_dir) / f"{sym}.{fmt}") for sym, series in market.items()]


# Theory of operation: one day at a time, log returns per bar are drawn with a volatility that is
# higher near the open (a U shape, like real intraday volatility), then shaped by the day type:
# trend days add a drift after the opening range and one impulse bar (a breakout with a volume
# burst); range days pull the price back toward the open. Highs and lows add wicks beyond the
# open/close. Volume is U-shaped within the day and grows with the size of the bar's move.


def _symbol_bars(symbol: str, table: SessionTable, seed: int) -> BarSeries:
    prof = _profile(symbol)
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    ts_parts, o_parts, h_parts, l_parts, c_parts, v_parts = [], [], [], [], [], []
    prev_close = prof.price
    dv = prof.daily_vol
    for session in table.sessions:
        n = int((session.close - session.open) // _BAR.ns)
        ts = session.open + _BAR.ns * np.arange(n, dtype=np.int64)
        i = np.arange(n, dtype=np.float64)
        sigma = dv / np.sqrt(78.0) * (0.8 + 1.6 * np.exp(-i / 4.0) + 0.4 * np.exp(-(n - 1 - i) / 4.0))
        kind = rng.choice(3, p=[0.25, 0.25, 0.50])  # 0 trend up, 1 trend down, 2 range
        # Gaps pull gently back toward the profile price so a long sample stays near it.
        gap = rng.normal(-0.08 * np.log(prev_close / prof.price), 0.35 * dv)
        if rng.random() < 0.12:
            gap += rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 2.5) * dv
        day_open = prev_close * np.exp(gap)
        z = rng.standard_normal(n)
        r = sigma * z
        vol_boost = np.ones(n)
        if kind < 2:
            sign = 1.0 if kind == 0 else -1.0
            drift = sign * rng.uniform(0.6, 2.6) * dv / max(n - 3, 1)
            r[3:] += drift
            k = int(rng.integers(3, min(14, n)))
            r[k] += sign * rng.uniform(1.5, 3.5) * sigma[k]
            vol_boost[k] *= rng.uniform(2.0, 4.0)
        log_p = np.empty(n)
        level = np.log(day_open)
        anchor = level
        for j in range(n):
            step = r[j]
            if kind == 2 and j >= 3:
                step -= 0.12 * (level - anchor)
            level += step
            log_p[j] = level
        close = np.exp(log_p)
        opens = np.concatenate(([day_open], close[:-1]))
        wick = np.abs(rng.normal(0.0, 0.45, size=(2, n))) * sigma
        high = np.maximum(opens, close) * np.exp(wick[0])
        low = np.minimum(opens, close) * np.exp(-wick[1])
        o, c = np.round(opens, 2), np.round(close, 2)
        h = np.maximum(np.round(high, 2), np.maximum(o, c))
        lo = np.maximum(np.minimum(np.round(low, 2), np.minimum(o, c)), 0.01)
        shape = 0.5 + 2.0 * np.exp(-i / 3.0) + 1.2 * np.exp(-(n - 1 - i) / 3.0)
        strength = 1.0 + 1.2 * np.maximum(np.abs(r) / sigma - 1.0, 0.0)
        day_mult = (1.15 if kind < 2 else 0.8) * (1.0 + 0.5 * min(abs(gap) / dv, 2.5))
        noise = np.exp(rng.normal(0.0, 0.3, n))
        raw = shape * strength * vol_boost * day_mult * noise / _VOLUME_NORM
        vol = np.maximum(np.round(prof.volume * raw), 100.0)
        ts_parts.append(ts)
        o_parts.append(o)
        h_parts.append(h)
        l_parts.append(lo)
        c_parts.append(c)
        v_parts.append(vol)
        prev_close = float(c[-1])
    return BarSeries(
        symbol=symbol,
        timeframe=_BAR,
        source="sample",
        ts=np.concatenate(ts_parts),
        open=np.concatenate(o_parts),
        high=np.concatenate(h_parts),
        low=np.concatenate(l_parts),
        close=np.concatenate(c_parts),
        volume=np.concatenate(v_parts),
    )
