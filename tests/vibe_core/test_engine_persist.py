"""save_state / load_state: versioned, refused with a clear error when unknown, without side effects."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibe_core.calendar import nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import SCHEMA, load_state, new_state, save_state, step
from vibe_core.errors import SnapshotError
from vibe_core.testing.market import as_slices, events_for, random_day

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]
SYMBOLS = ("AAPL", "MSFT", "TSLA")


def market(seed: int, n_days: int = 2) -> list:
    rng = np.random.default_rng(seed)
    first = seed % (len(DAYS) - n_days)
    days = [
        (s, [random_day(s, sym, rng, start=100.0, volatility=0.004) for sym in SYMBOLS])
        for s in DAYS[first : first + n_days]
    ]
    return as_slices(events_for(days))


def config(**validation):
    return config_from_dict(
        {"symbols": list(SYMBOLS), "validation": {"enabled": True, **validation}, "indicator_window": 64}
    )


def test_the_saved_state_carries_its_schema_and_round_trips_through_json():
    state = new_state(config(), SESSIONS)
    for event in market(1)[:50]:
        state, _ = step(state, event)
    data = save_state(state)
    assert data["schema"] == SCHEMA == 2
    assert save_state(load_state(json.loads(json.dumps(data)), SESSIONS)) == data


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (None, "no schema version; this version reads schema 2"),
        (1, "schema 1; this version reads schema 2"),  # (before the feed gate)
        (3, "schema 3; this version reads schema 2"),
    ],
)
def test_an_unknown_or_missing_schema_is_refused_naming_both_versions(schema, message):
    data = save_state(new_state(config(), SESSIONS))
    if schema is None:
        del data["schema"]
    else:
        data["schema"] = schema
    with pytest.raises(SnapshotError, match=message):
        load_state(data, SESSIONS)


def test_a_missing_part_is_refused_naming_it():
    data = save_state(new_state(config(), SESSIONS))
    del data["portfolio"]
    with pytest.raises(SnapshotError, match="'portfolio'"):
        load_state(data, SESSIONS)


def test_saving_touches_neither_the_unfed_indicator_bars_nor_the_venues_unseen_bars():
    state = new_state(config(), SESSIONS)
    for event in market(2)[:70]:
        state, _ = step(state, event)
    pending = copy.deepcopy(state.indicators._pending)
    unseen = dict(state.venue._unseen)
    assert any(pending.values()) and unseen  # (the market leaves some of both)
    first = save_state(state)
    assert state.indicators._pending == pending and state.venue._unseen == unseen
    assert save_state(state) == first


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16), st.lists(st.floats(0, 1), max_size=4), st.booleans())
def test_a_state_saved_along_the_way_steps_exactly_like_its_unsaved_twin(seed, cuts, validation):
    events = market(seed)
    saved_at = {int(c * len(events)) for c in cuts}
    saved = new_state(config(volume=validation, trend=validation), SESSIONS)
    twin = new_state(config(volume=validation, trend=validation), SESSIONS)
    for i, event in enumerate(events):
        if i in saved_at:
            assert save_state(saved) == save_state(saved)
        saved, got = step(saved, event)
        twin, expected = step(twin, event)
        assert got == expected
    assert save_state(saved) == save_state(twin)
