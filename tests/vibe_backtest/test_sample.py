"""The seeded sample market (vibe_backtest.sample)."""

from __future__ import annotations

import collections
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_backtest.data import BarSeries, load_dir
from vibe_backtest.sample import PROFILES, SAMPLE_END, sample_market, sample_sessions, write_sample
from vibe_core.calendar import Session, SessionTable
from vibe_core.config import MVP_SYMBOLS
from vibe_core.types import NS_PER_MINUTE, Timeframe

FIVE = 5 * NS_PER_MINUTE


@pytest.fixture(scope="module")
def table() -> SessionTable:
    from vibe_core.calendar import nyse_sessions

    return nyse_sessions("2024-01-01", "2024-12-31")


@pytest.fixture(scope="module")
def market(table) -> dict[str, BarSeries]:
    return sample_market(sessions=table)


def ny_dates(series: BarSeries) -> np.ndarray:
    return np.asarray(pd.to_datetime(series.ts, unit="ns", utc=True).tz_convert("America/New_York").date)


def by_session(series: BarSeries, sessions: SessionTable) -> list[tuple[Session, slice]]:
    out = []
    for s in sessions.sessions:
        lo, hi = np.searchsorted(series.ts, [s.open, s.close])
        out.append((s, slice(int(lo), int(hi))))
    return out


def test_same_seed_same_market(market, table):
    again = sample_market(sessions=table)
    assert again == market
    other = sample_market(sessions=table, seed=8)
    assert all(other[s] != market[s] for s in MVP_SYMBOLS)


def test_a_symbol_does_not_depend_on_the_others(market, table):
    alone = sample_market(["TSLA"], sessions=table)
    assert alone["TSLA"] == market["TSLA"]


def test_sessions_default_to_the_calendar(market):
    assert sample_market(["AAPL"])["AAPL"] == market["AAPL"]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), symbol=st.sampled_from([*MVP_SYMBOLS, "XYZ", "NVDA"]))
def test_bars_are_consistent(table, seed, symbol):
    series = sample_market([symbol], sessions=table, n_sessions=10, seed=seed)[symbol]
    o, h, low, c, v = series.open, series.high, series.low, series.close, series.volume
    assert series.timeframe is Timeframe.M5
    assert series.source == "sample"
    assert np.all(low <= np.minimum(o, c))
    assert np.all(np.maximum(o, c) <= h)
    assert np.all(low > 0)
    for x in (o, h, low, c):
        assert np.allclose(x * 100, np.round(x * 100), rtol=0, atol=1e-6)  # cents
    assert np.all(v == np.round(v))
    assert np.all(v > 0)
    assert np.all(np.diff(series.ts) > 0)
    assert np.all(series.ts % FIVE == 0)


def test_sixty_real_sessions_with_the_early_close(market, table):
    expected = [s for s in table.sessions if s.date <= SAMPLE_END][-60:]
    assert expected[0].date == dt.date(2024, 5, 1)
    for series in market.values():
        days = ny_dates(series)
        assert sorted(set(days)) == [s.date for s in expected]
        for holiday in (dt.date(2024, 5, 27), dt.date(2024, 6, 19), dt.date(2024, 7, 4)):
            assert holiday not in set(days)
        for session, part in by_session(series, SessionTable(tuple(expected))):
            ts = series.ts[part]
            assert ts[0] == session.local_time_ns("09:30")
            last = "12:55" if session.date == dt.date(2024, 7, 3) else "15:55"
            assert ts[-1] == session.local_time_ns(last)
            assert len(ts) == (42 if session.early_close else 78)
        assert len(series) == 59 * 78 + 42


def test_sample_sessions_selects_the_last_n(table):
    picked = sample_sessions(table, n_sessions=5, end=dt.date(2024, 7, 8))
    assert [s.date.isoformat() for s in picked.sessions] == [
        "2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="only"):
        sample_sessions(table, n_sessions=400, end=dt.date(2024, 7, 8))


def test_price_levels_and_volatility(market):
    daily_sd = {}
    for sym, series in market.items():
        ref = PROFILES[sym].price
        assert abs(series.open[0] / ref - 1) < 0.05
        assert abs(np.median(series.close) / ref - 1) < 0.25
        closes = np.array(
            [series.close[np.flatnonzero(ny_dates(series) == d)[-1]] for d in sorted(set(ny_dates(series)))]
        )
        daily_sd[sym] = np.std(np.diff(np.log(closes)))
    assert all(daily_sd["TSLA"] > 1.5 * sd for sym, sd in daily_sd.items() if sym != "TSLA")


def test_volume_is_u_shaped(market, table):
    for series in market.values():
        full = [part for s, part in by_session(series, table) if part.stop - part.start == 78]
        profile = np.mean([series.volume[part] for part in full], axis=0)
        midday = profile[30:50].mean()
        assert profile[0] > 2 * midday
        assert profile[-1] > 1.5 * midday


def test_opening_gaps_occur(market):
    gaps = []
    for series in market.values():
        days = ny_dates(series)
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        gaps += list(np.abs(series.open[starts[1:]] / series.close[starts[1:] - 1] - 1))
    assert max(gaps) > 0.02
    assert np.median(gaps) < 0.01


# A naive Opening Range Breakout written independently of the engine: range = first 3 bars,
# signal = first close above the range high from the 4th bar on (bar ending by 15:00), entry at
# the next bar's open, stop = range low, target = entry + 2 x (entry - stop), flatten at the
# open of the 15:55 (12:55) bar; a bar touching both stop and target counts as a stop.
def naive_orb(series: BarSeries, sessions: SessionTable) -> list[tuple[str, bool]]:
    out = []
    for s, part in by_session(series, sessions):
        ts = series.ts[part]
        o, h, low, c = (x[part] for x in (series.open, series.high, series.low, series.close))
        if len(ts) < 6:
            continue
        range_high, range_low = h[:3].max(), low[:3].min()
        last_entry, flatten = s.local_time_ns("15:00"), s.close - 5 * NS_PER_MINUTE
        above = np.flatnonzero((c > range_high) & (np.arange(len(ts)) >= 3) & (ts + FIVE <= last_entry))
        if len(above) == 0 or ts[above[0] + 1] >= flatten:
            continue
        k = int(above[0])
        entry = o[k + 1]
        target = entry + 2 * (entry - range_low)
        outcome = "eod"
        for j in range(k + 1, len(ts)):
            if ts[j] >= flatten:
                break
            if low[j] <= range_low:
                outcome = "stop"
                break
            if h[j] >= target:
                outcome = "target"
                break
        g = part.start + k
        volume_ok = bool(g >= 20 and series.volume[g] >= 1.5 * series.volume[g - 20 : g].mean())
        out.append((outcome, volume_ok))
    return out


def test_orb_finds_targets_stops_and_end_of_day_exits(market, table):
    trades = [t for series in market.values() for t in naive_orb(series, table)]
    outcomes = collections.Counter(o for o, _ in trades)
    assert outcomes["target"] >= 10
    assert outcomes["stop"] >= 10
    assert outcomes["eod"] >= 10
    passed = sum(ok for _, ok in trades)
    assert 0.1 * len(trades) < passed < 0.9 * len(trades)
    assert {o for o, ok in trades if ok} == {"target", "stop", "eod"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_sample_round_trips(tmp_path, table, market, fmt):
    paths = write_sample(tmp_path, fmt, sessions=table)
    assert sorted(p.name for p in paths) == sorted(f"{s}.{fmt}" for s in MVP_SYMBOLS)
    loaded = load_dir(tmp_path, MVP_SYMBOLS, sessions=table, source="sample")
    assert loaded == market


def test_write_sample_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        write_sample(tmp_path, "xlsx")  # type: ignore[arg-type]
