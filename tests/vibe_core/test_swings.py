"""Swing points of the support/resistance rule against their plain definition."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from vibe_core.validation.rules import Swings

# few distinct values, so ties (which are not swing points) are common
levels = st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0]), max_size=40)


def naive_highs(h: list[float], s: int) -> list[float]:
    return [h[i] for i in range(s, len(h) - s) if all(h[i] > h[j] for j in range(i - s, i + s + 1) if j != i)]


def naive_lows(lo: list[float], s: int) -> list[float]:
    return [
        lo[i] for i in range(s, len(lo) - s) if all(lo[i] < lo[j] for j in range(i - s, i + s + 1) if j != i)
    ]


@settings(max_examples=300, deadline=None)
@given(highs=levels, lows=levels, strength=st.integers(1, 5), lookback=st.integers(1, 40))
def test_swing_points_are_strict_extremes_of_their_neighbourhood(highs, lows, strength, lookback):
    sw = Swings.empty(lookback)
    sw.highs.extend(highs)
    sw.lows.extend(lows)
    assert sw.swing_highs(strength) == naive_highs(highs[-lookback:] if highs else [], strength)
    assert sw.swing_lows(strength) == naive_lows(lows[-lookback:] if lows else [], strength)


def test_a_tie_is_not_a_swing_point():
    sw = Swings.empty(10)
    sw.highs.extend([1.0, 3.0, 3.0, 1.0, 1.0])
    assert sw.swing_highs(1) == []
    sw.highs.extend([4.0, 1.0])
    assert sw.swing_highs(1) == [4.0]


@settings(max_examples=300, deadline=None)
@given(
    highs=levels,
    lows=levels,
    strength=st.integers(1, 5),
    bounds=st.tuples(st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.0]), st.sampled_from([1.0, 2.0, 3.0, 5.0, 6.0])),
)
@example(highs=[1.0, 2.0, 1.0], lows=[3.0, 2.0, 3.0], strength=1, bounds=(2.0, 3.0))  # at the open end
@example(highs=[1.0, 2.0, 1.0], lows=[3.0, 2.0, 3.0], strength=1, bounds=(1.0, 2.0))  # at the closed end
def test_swing_points_in_a_zone_are_the_swing_points_filtered(highs, lows, strength, bounds):
    """The rule's question (highs in ``(a, b]``, lows in ``[a, b)``; bounds on the levels, so ends
    are hit) is answered as the full list filtered."""
    a, b = bounds
    sw = Swings.empty(40)
    sw.highs.extend(highs)
    sw.lows.extend(lows)
    assert sw.swing_highs(strength, a, b) == [h for h in naive_highs(highs, strength) if a < h <= b]
    assert sw.swing_lows(strength, a, b) == [lo for lo in naive_lows(lows, strength) if a <= lo < b]
