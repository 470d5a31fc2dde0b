"""The EMA pullback strategy through the engine: where it must signal, where it must not.

Bars are a steady 5m uptrend (each bar's low above the lagging EMA) with one hand-made pullback
bar; a short EMA period lets the 15m EMA warm up within the morning.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.actions import SignalEvaluated
from vibe_core.calendar import Session, SessionTable
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.strategy import EmaPullback
from vibe_core.testing.market import day_bars, events_for, random_day
from vibe_core.types import NS_PER_MINUTE, Side, Timeframe

PULLBACK = 30  #: the slot of the pullback bar (opens 12:00, closes 12:05)


def trend(n: int, *, pullback: int | None = PULLBACK, sign: int = 1, close_back: bool = True) -> list[tuple]:
    """``n`` bars climbing 0.20 a bar (falling when ``sign`` is -1), a pullback bar at ``pullback``.

    The pullback bar opens 0.10 back, reaches 0.90 beyond the previous close against the trend and
    closes 0.05 past it with the trend (or, with ``close_back=False``, 0.50 against it).
    """
    out = []
    prev = 100.0
    for slot in range(n):
        if slot == pullback:
            o = prev - sign * 0.10
            c = prev + sign * (0.05 if close_back else -0.50)
            far = prev - sign * 0.90
        else:
            c = prev + sign * 0.20
            o = c - sign * 0.15
            far = o
        near = c + sign * 0.05
        hi, lo = (near, far) if sign > 0 else (far, near)
        out.append((round(o, 2), round(max(hi, o, c), 2), round(min(lo, o, c), 2), round(c, 2), 1000.0))
        prev = c
    return out


def run(sessions: SessionTable, day: Session, rows: list[tuple], **keys: object) -> list[SignalEvaluated]:
    cfg = config_from_dict(
        {
            "symbols": ["AAPL"],
            "strategy": {"name": "ema_pullback", "ema_period": 5, **keys},
            "validation": {"enabled": False},
            "exchange": {"preset": "optimistic"},
        }
    )
    state = new_state(cfg, sessions)
    assert isinstance(state.strategy, EmaPullback)
    found = []
    for event in events_for([(day, [day_bars(day, "AAPL", rows)])]):
        state, out = step(state, event)
        found += [a for a in out if isinstance(a, SignalEvaluated)]
    return found


@pytest.fixture
def day(sessions: SessionTable) -> Session:
    s = sessions.for_date(dt.date(2024, 5, 1))
    assert s is not None
    return s


def n_bars(day: Session) -> int:
    return int((day.close - day.open) // Timeframe.M5.ns)


def test_a_pullback_in_an_uptrend_signals_at_its_close(sessions: SessionTable, day: Session) -> None:
    rows = trend(n_bars(day))
    (evaluated,) = run(sessions, day, rows)
    signal = evaluated.signal
    _, _, lo, c, _ = rows[PULLBACK]
    assert (signal.side, signal.price, signal.ts) == (
        Side.BUY,
        c,
        day.open + (PULLBACK + 1) * Timeframe.M5.ns,
    )
    assert signal.stop == round(lo * (1 - 0.001), 2)
    assert signal.target == round(c + 2.0 * (c - signal.stop), 2)
    assert signal.strategy == "ema_pullback" and evaluated.accepted


def test_no_signal_without_a_touch_or_before_the_close_back(sessions: SessionTable, day: Session) -> None:
    assert run(sessions, day, trend(n_bars(day), pullback=None)) == []  # lows stay above the EMA
    # a bar that closes below the EMA is no signal; the next one, back above it and up, is
    (evaluated,) = run(sessions, day, trend(n_bars(day), close_back=False))
    assert evaluated.signal.ts == day.open + (PULLBACK + 2) * Timeframe.M5.ns


def test_shorts_mirror_and_only_when_allowed(sessions: SessionTable, day: Session) -> None:
    rows = trend(n_bars(day), sign=-1)
    assert run(sessions, day, rows) == []
    (evaluated,) = run(sessions, day, rows, allow_short=True)
    _, h, _, c, _ = rows[PULLBACK]
    assert (evaluated.signal.side, evaluated.signal.price) == (Side.SELL, c)
    assert evaluated.signal.stop == round(h * 1.001, 2)


def test_a_downtrend_gives_no_long(sessions: SessionTable, day: Session) -> None:
    rows = trend(n_bars(day), sign=-1, close_back=True)
    assert [e.signal.side for e in run(sessions, day, rows, allow_short=True)] == [Side.SELL]
    assert run(sessions, day, rows) == []


@pytest.mark.parametrize(
    ("keys", "signals"),
    [
        ({"start_minutes_after_open": 155}, 1),  # the pullback closes at 12:05: 155 min after the open
        ({"start_minutes_after_open": 160}, 0),
        ({"last_entry_time": "12:05"}, 1),
        ({"last_entry_time": "12:00"}, 0),
        ({"max_trades_per_day": 0}, 0),
    ],
)
def test_the_entry_window(
    sessions: SessionTable, day: Session, keys: dict[str, object], signals: int
) -> None:
    assert len(run(sessions, day, trend(n_bars(day)), **keys)) == signals


def test_an_ema_not_yet_warm_gives_no_signal(sessions: SessionTable, day: Session) -> None:
    rows = trend(n_bars(day))
    assert run(sessions, day, rows, ema_period=60) == []  # 15m EMA(60) needs 15 hours of bars


def test_a_restart_mid_day_continues_the_same(sessions: SessionTable, day: Session) -> None:
    rows = trend(n_bars(day))
    cfg = config_from_dict(
        {
            "symbols": ["AAPL"],
            "strategy": {"name": "ema_pullback", "ema_period": 5},
            "validation": {"enabled": False},
        }
    )
    events = events_for([(day, [day_bars(day, "AAPL", rows)])])
    whole, restarted = new_state(cfg, sessions), new_state(cfg, sessions)
    a, b = [], []
    for i, event in enumerate(events):
        whole, out = step(whole, event)
        a += out
        restarted, out = step(restarted, event)
        b += out
        if i in (10, PULLBACK + 3):
            restarted = load_state(save_state(restarted), sessions)
    assert a == b and any(isinstance(x, SignalEvaluated) for x in a)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    drift=st.sampled_from([-0.001, 0.0, 0.001]),
    start=st.sampled_from([0, 30, 120]),
    last=st.sampled_from(["11:00", "15:00", "15:59"]),
    trades=st.integers(0, 3),
)
def test_signals_stay_in_the_window_and_entries_within_the_daily_limit(
    sessions: SessionTable, seed: int, drift: float, start: int, last: str, trades: int
) -> None:
    days = [s for s in sessions.sessions if dt.date(2024, 5, 1) <= s.date <= dt.date(2024, 5, 3)]
    rng = np.random.default_rng(seed)
    data = [(s, [random_day(s, "AAPL", rng, start=100.0, volatility=0.003, drift=drift)]) for s in days]
    cfg = config_from_dict(
        {
            "symbols": ["AAPL"],
            "strategy": {
                "name": "ema_pullback",
                "ema_period": 3,
                "start_minutes_after_open": start,
                "last_entry_time": last,
                "max_trades_per_day": trades,
                "allow_short": True,
            },
            "validation": {"enabled": False},
            "exchange": {"preset": "optimistic"},
        }
    )
    state = new_state(cfg, sessions)
    evaluated = []
    for event in events_for(data):
        state, out = step(state, event)
        evaluated += [a for a in out if isinstance(a, SignalEvaluated)]
    by_day = {s.date: s for s in days}
    accepted: Counter[dt.date] = Counter()
    for e in evaluated:
        s = e.signal
        session = next(d for d in by_day.values() if d.open < s.ts <= d.close)
        flatten = session.close - 5 * NS_PER_MINUTE
        assert session.open + start * NS_PER_MINUTE <= s.ts <= session.local_time_ns(last)
        assert s.ts < flatten
        assert (s.stop < s.price < s.target) if s.side is Side.BUY else (s.target < s.price < s.stop)
        accepted[session.date] += e.accepted
    assert all(n <= trades for n in accepted.values())
