"""Events checked at the door: bad input from outside is refused with an ``EventRejected`` record,
counted per reason, and changes nothing else; an event that raises changes nothing either."""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibe_core.actions import EventRejected
from vibe_core.calendar import nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, save_state, step
from vibe_core.events import Bar, BarSlice, Clock, Filled, OrderAccepted, OrderCancelled, Trade
from vibe_core.models import Fill
from vibe_core.snapshot import read_model
from vibe_core.testing import strategies as vs
from vibe_core.testing.market import as_prints, as_slices, events_for, random_day
from vibe_core.types import Side, Timeframe

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]
SYMBOLS = ("AAPL", "MSFT")
MINUTE = 60 * 10**9


def market(seed: int, n_days: int = 1) -> list:
    rng = np.random.default_rng(seed)
    days = []
    for session in DAYS[seed % 10 : seed % 10 + n_days]:
        per_symbol = [random_day(session, sym, rng, start=100.0, volatility=0.003) for sym in SYMBOLS]
        days.append((session, per_symbol))
    return events_for(days)


def config(preset: str = "optimistic"):
    return config_from_dict({"symbols": list(SYMBOLS), "exchange": {"preset": preset}})


def frozen(state) -> str:
    """The saved state but the rejection counters (they count the refusal)."""
    data = save_state(state)
    data.pop("rejected")
    return json.dumps(data, sort_keys=True)


def bad_events(state, draw) -> list:
    """Events that are wrong given ``state``: each must be refused (or raise) and change nothing."""
    now = state.now
    ts = now + draw(st.integers(0, 10 * MINUTE))
    price = draw(st.sampled_from([math.nan, math.inf, -1.0, 0.0]))
    fill = Fill(
        order_id="AAPL-20241101-99",
        symbol="AAPL",
        side=Side.BUY,
        qty=1,
        price=100.0,
        ref_price=100.0,
        fee=0.0,
        ts=ts,
    )
    good_bar = Bar(
        symbol="AAPL",
        timeframe=Timeframe.M5,
        ts=ts,
        open=100.0,
        high=101.0,
        low=99.0,
        close=100.5,
        volume=1e3,
    )
    unknown_bar = Bar(
        symbol="ZZZZ",
        timeframe=Timeframe.M5,
        ts=ts,
        open=100.0,
        high=101.0,
        low=99.0,
        close=100.5,
        volume=1e3,
    )
    events = [
        Trade(symbol="ZZZZ", ts=ts, price=100.0, size=10.0),
        unknown_bar,
        BarSlice(ts=ts, bars=(good_bar, unknown_bar)),  # a good bar first: nothing of it may apply
        Filled(ts=ts, fill=fill),
        OrderAccepted(ts=ts, order_id="AAPL-20241101-99"),
        OrderCancelled(ts=ts, order_id="AAPL-20241101-99", reason="x"),
    ]
    with contextlib.suppress(ValueError):  # refused where it is built (validators), or else at the door
        events.append(Trade(symbol="AAPL", ts=ts, price=price, size=10.0))
    if now > 10 * MINUTE:
        stale = Bar(
            symbol="MSFT",
            timeframe=Timeframe.M5,
            ts=now - 10 * MINUTE,
            open=1.0,
            high=1.0,
            low=1.0,
            close=1.0,
            volume=1.0,
        )
        events.append(stale)
    return events


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.integers(0, 2**16), st.floats(0, 1), st.sampled_from(["bars", "slices", "prints"]), st.data())
def test_a_refused_or_raising_event_leaves_the_saved_state_as_it_was(seed, where, mode, data):
    events = market(seed)
    events = {"bars": events, "slices": as_slices(events), "prints": as_prints(events)}[mode]
    state = new_state(config(data.draw(st.sampled_from(["optimistic", "base"]))), SESSIONS)
    for event in events[: int(where * len(events))]:
        state, _ = step(state, event)
    candidates = [*bad_events(state, data.draw), data.draw(vs.events())]
    for event in data.draw(st.permutations(candidates)):
        before = frozen(state)
        counts = dict(state.rejected)
        try:
            state, actions = step(state, event)
        except Exception:
            assert frozen(state) == before
            continue
        if any(isinstance(a, EventRejected) for a in actions):
            (rejected,) = actions
            assert rejected.event is event and rejected.reason and rejected.detail
            assert frozen(state) == before
            assert state.rejected == {**counts, rejected.reason: counts.get(rejected.reason, 0) + 1}
        else:  # (only the random event may be fine)
            assert not any(event is bad for bad in candidates[:-1]), event


def test_a_nan_print_never_reaches_the_forming_bar():
    events = as_prints(market(3))
    state = new_state(config(), SESSIONS)
    for event in events[:200]:
        state, _ = step(state, event)
    forming = state.bars.forming_bar("AAPL", Timeframe.M5)
    last = events[199]
    try:
        bad = Trade(symbol="AAPL", ts=last.ts + 1, price=math.nan, size=5.0)
    except ValueError:
        return  # refused where it is built
    state, actions = step(state, bad)
    assert [(type(a), a.reason) for a in actions] == [(EventRejected, "invalid print")]
    assert state.bars.forming_bar("AAPL", Timeframe.M5) == forming


def test_rejections_are_counted_per_reason_in_the_read_model():
    state = new_state(config(), SESSIONS)
    ts = DAYS[0].open
    for symbol in ("ZZZZ", "YYYY"):
        state, _ = step(state, Trade(symbol=symbol, ts=ts, price=10.0, size=1.0))
    state, actions = step(state, OrderAccepted(ts=ts, order_id="AAPL-20241101-1"))
    assert actions[0].reason == "no external broker"
    assert read_model(state).rejected_events == (("no external broker", 1), ("unknown symbol", 2))


def test_a_stale_bar_is_refused_but_a_late_print_is_counted_by_the_aggregator():
    events = market(5)
    state = new_state(config(), SESSIONS)
    for event in events[:40]:
        state, _ = step(state, event)
    old = events[10]
    assert isinstance(old, Bar)
    state, actions = step(state, old)
    assert [a.reason for a in actions] == ["stale bar"]
    late = Trade(symbol="AAPL", ts=old.ts, price=old.close, size=1.0)
    state, actions = step(state, late)
    assert actions == [] and state.bars.late_prints == 1


@pytest.mark.parametrize("event_ts_offset", [0, -1])
def test_a_clock_never_is_refused(event_ts_offset):
    state = new_state(config(), SESSIONS)
    state, _ = step(state, Clock(ts=DAYS[0].open + 5 * MINUTE))
    state, actions = step(state, Clock(ts=state.now + event_ts_offset))
    assert not any(isinstance(a, EventRejected) for a in actions)
