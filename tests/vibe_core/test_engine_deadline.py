"""``next_deadline``: when the core next has work without market data (the live shell's timer).

A ``Clock`` at any time from ``now`` up to (not including) the deadline does nothing but move the
state's time; a ``Clock`` at the deadline does some work, or moves the deadline later.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibe_core.calendar import nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, next_deadline, save_state, step
from vibe_core.events import Clock, Trade
from vibe_core.testing.market import as_prints, as_slices, events_for, random_day

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]
SYMBOLS = ("AAPL", "MSFT")
MINUTE = 60 * 10**9


def market(seed: int) -> list:
    rng = np.random.default_rng(seed)
    session = DAYS[seed % len(DAYS)]
    per_symbol = [random_day(session, sym, rng, start=100.0, volatility=0.004) for sym in SYMBOLS]
    return events_for([(session, per_symbol)])


def timeless(state) -> str:
    """The saved state without what a Clock may move while nothing is due: the times."""
    data = save_state(state)
    for key in ("now", "wake"):
        data.pop(key)
    data["bars"].pop("now")
    return json.dumps(data, sort_keys=True)


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.integers(0, 2**16),
    st.floats(0, 1),
    st.sampled_from(["slices", "prints"]),
    st.sampled_from([(0, 0), (100, 500)]),
    st.data(),
)
def test_a_clock_before_the_deadline_does_nothing_and_one_at_it_does_something(
    seed, where, mode, delay, data
):
    events = market(seed)
    events = as_slices(events) if mode == "slices" else as_prints(events)
    cfg = config_from_dict(
        {
            "symbols": list(SYMBOLS),
            "exchange": {
                "preset": "optimistic",
                "fill_delay_ms_min": delay[0],
                "fill_delay_ms_max": delay[1],
            },
        }
    )
    state = new_state(cfg, SESSIONS)
    for event in events[: int(where * len(events))]:
        state, _ = step(state, event)
    deadline = next_deadline(state)
    assert deadline is not None  # the calendar runs on
    if deadline > state.now:
        t = data.draw(st.integers(state.now, deadline - 1))
        before = timeless(state)
        state, actions = step(state, Clock(ts=t))
        assert actions == []
        assert timeless(state) == before
        assert next_deadline(state) == deadline
    before = timeless(state)
    state, actions = step(state, Clock(ts=max(deadline, state.now)))
    after = next_deadline(state)
    assert actions or timeless(state) != before or after is None or after > deadline


def test_the_deadlines_of_a_day_in_live_mode(sessions):
    """Prints: the next bar close; after the last entry: the flatten, then the close, then the next open."""
    cfg = config_from_dict({"symbols": ["AAPL"], "exchange": {"preset": "optimistic"}})
    state = new_state(cfg, sessions)
    day = sessions.sessions[sessions.index_at(sessions.sessions[40].open)]
    assert next_deadline(state) == sessions.sessions[0].open
    state, _ = step(state, Trade(symbol="AAPL", ts=day.open + 7 * MINUTE, price=100.0, size=5.0))
    assert next_deadline(state) == day.open + 10 * MINUTE  # the 5m bar 09:35-09:40 closes
    state, _ = step(state, Clock(ts=day.open + 10 * MINUTE))
    assert next_deadline(state) == day.open + 15 * MINUTE  # the 15m bar (09:30-09:45) still forms
    state, _ = step(state, Clock(ts=day.open + 60 * MINUTE))
    assert next_deadline(state) == day.close - 5 * MINUTE  # nothing forms: the flatten
    state, _ = step(state, Clock(ts=day.close - 5 * MINUTE))
    assert next_deadline(state) == day.close
    state, _ = step(state, Clock(ts=day.close))
    assert next_deadline(state) == sessions.sessions[41].open
