"""A backtest over bars with holes: the feed gate refuses the entries they make unsafe (the reason in
signals.csv), records every hole in gaps.csv, and the symbol trades again once its data is back."""

from __future__ import annotations

import csv
import datetime as dt

import attrs
import numpy as np

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import BarSeries
from vibe_backtest.sample import sample_market
from vibe_core.types import NS_PER_MINUTE

SESSIONS = calendar()


def read(path):
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def without(series: BarSeries, day: dt.date, first: int, last: int) -> BarSeries:
    """``series`` less the bars of ``day`` from ``first`` to ``last`` minutes after the open."""
    session = SESSIONS.for_date(day)
    assert session is not None
    lo, hi = session.open + first * NS_PER_MINUTE, session.open + last * NS_PER_MINUTE
    keep = ~((series.ts >= lo) & (series.ts < hi))
    cols = ("ts", "open", "high", "low", "close", "volume")
    return attrs.evolve(series, **{c: np.asarray(getattr(series, c))[keep] for c in cols})


def test_holes_gate_entries_and_are_listed_in_gaps_csv(tmp_path):
    market = sample_market(sessions=SESSIONS, n_sessions=20, end=dt.date(2024, 5, 31))
    base = run_backtest(market, keep_bars=False)
    base.write(tmp_path / "base", report=False)
    header, rows = read(tmp_path / "base" / "gaps.csv")
    assert header == ["symbol", "start", "end", "reason"] and rows == []  # no hole, no gap
    # a traded symbol-day: take its 09:35 bar away (inside the opening range)
    first = base.trades.iloc[0]
    symbol, day = first["symbol"], first["entry_time"].date()
    # and a mid-session hour of another symbol on another day
    other = next(s for s in market if s != symbol)
    later = sorted({t.date() for t in base.trades["entry_time"]})[-1]
    holed = dict(market)
    holed[symbol] = without(market[symbol], day, 5, 10)
    holed[other] = without(market[other], later, 120, 180)

    result = run_backtest(holed, keep_bars=False)
    result.write(tmp_path / "holed", report=False)
    _, gaps = read(tmp_path / "holed" / "gaps.csv")
    assert [(g["symbol"], g["start"][11:19], g["end"][11:19], g["reason"]) for g in gaps] == [
        (symbol, "09:34:59", "09:40:00", "stale"),
        (other, "11:29:59", "12:30:00", "stale"),
    ]
    assert gaps[0]["start"].startswith(day.isoformat())
    _, signals = read(tmp_path / "holed" / "signals.csv")
    refused = [s for s in signals if s["symbol"] == symbol and s["time"].startswith(day.isoformat())]
    assert refused and all(s["accepted"] == "False" for s in refused)
    assert all(
        s["vetoes"].startswith("opening range incomplete: feed gap 09:34:59-09:40:00") for s in refused
    )
    traded = {(t["symbol"], t["entry_time"].date()) for _, t in result.trades.iterrows()}
    assert (symbol, day) not in traded
    # once fresh, it trades again: every later day's trade of the base run is still there
    later_base = {
        (s, d) for s, d in ((t["symbol"], t["entry_time"].date()) for _, t in base.trades.iterrows())
    }
    assert any(s == symbol and d != day for s, d in traded)
    assert {(s, d) for s, d in later_base if s == symbol and d > day} <= traded
