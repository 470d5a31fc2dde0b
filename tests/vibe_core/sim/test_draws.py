"""Seeded counter-based draws: range, determinism, independence of keys, rough uniformity."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.config import FillModel
from vibe_core.sim.draws import integer, uniform
from vibe_core.sim.venue import fill_delay_ns
from vibe_core.types import NS_PER_MS

seeds = st.integers(min_value=-(2**63), max_value=2**63)
keys = st.text(max_size=20)
indices = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=200, deadline=None)
@given(seeds, keys, indices)
def test_uniform_is_in_unit_interval_and_repeats(seed, key, index):
    value = uniform(seed, key, index)
    assert 0.0 <= value < 1.0
    assert uniform(seed, key, index) == value


def test_uniform_is_blake2b_of_seed_index_key():
    digest = hashlib.blake2b(b"7:3:AAPL-20240315-1", digest_size=8).digest()
    assert uniform(7, "AAPL-20240315-1", 3) == (int.from_bytes(digest, "big") >> 11) / 2**53


@settings(max_examples=100, deadline=None)
@given(seeds, keys, indices)
def test_each_coordinate_changes_the_draw(seed, key, index):
    value = uniform(seed, key, index)
    assert uniform(seed + 1, key, index) != value
    assert uniform(seed, key + "x", index) != value
    assert uniform(seed, key, index + 1) != value


def test_encoding_is_injective():
    # "seed:index:key": the ints hold no colon and the key comes last, so these differ
    assert uniform(0, "1:a", 2) != uniform(0, "a", 21)  # "0:2:1:a" vs "0:21:a"
    assert uniform(1, "x", 2) != uniform(12, "x", 0)


def test_draws_are_roughly_uniform():
    values = [uniform(42, "order", i) for i in range(20_000)]
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.01)
    buckets = [0] * 10
    for v in values:
        buckets[int(v * 10)] += 1
    expected = len(values) / 10
    chi2 = sum((b - expected) ** 2 / expected for b in buckets)
    assert chi2 < 30  # 9 degrees of freedom: p < 0.001 above ~27.9


@settings(max_examples=100, deadline=None)
@given(seeds, keys, indices, st.integers(-1000, 1000), st.integers(0, 50))
def test_integer_stays_in_range(seed, key, index, low, width):
    assert low <= integer(seed, key, index, low, low + width) <= low + width


def test_integer_reaches_both_ends():
    values = {integer(0, "k", i, 3, 5) for i in range(200)}
    assert values == {3, 4, 5}


def test_integer_refuses_an_empty_range():
    with pytest.raises(ValueError, match="empty range"):
        integer(0, "k", 0, 5, 4)


@settings(max_examples=100, deadline=None)
@given(seeds, keys, st.integers(0, 5000), st.integers(0, 5000))
def test_fill_delay_is_whole_ms_within_bounds(seed, order_id, a, b):
    lo, hi = min(a, b), max(a, b)
    delay = fill_delay_ns(FillModel(fill_delay_ms_min=lo, fill_delay_ms_max=hi), seed, order_id)
    assert delay % NS_PER_MS == 0
    assert lo * NS_PER_MS <= delay <= hi * NS_PER_MS
    assert delay == fill_delay_ns(FillModel(fill_delay_ms_min=lo, fill_delay_ms_max=hi), seed, order_id)


def test_fill_delay_without_range_is_the_minimum():
    assert fill_delay_ns(FillModel(), 0, "x") == 0
    assert fill_delay_ns(FillModel(fill_delay_ms_min=250, fill_delay_ms_max=250), 0, "x") == 250 * NS_PER_MS
