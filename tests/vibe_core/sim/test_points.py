"""The bar -> four points price path and the print -> one point."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.events import Bar, Trade
from vibe_core.sim.points import bar_points, trade_point
from vibe_core.types import NS_PER_SECOND, Timeframe

T0 = 1_710_509_400 * NS_PER_SECOND  # 2024-03-15 13:30 UTC (09:30 New York)
S = NS_PER_SECOND


def bar(o, h, lo, c, v=400.0, tf=Timeframe.M5):
    return Bar(symbol="AAPL", timeframe=tf, ts=T0, open=o, high=h, low=lo, close=c, volume=v)


def test_low_nearer_to_open_comes_first():
    points = bar_points(bar(100.0, 102.0, 99.5, 101.0))  # open 0.5 from the low, 2.0 from the high
    assert [p.price for p in points] == [100.0, 99.5, 102.0, 101.0]
    assert [p.ts - T0 for p in points] == [0, 100 * S, 200 * S, 299 * S]
    assert [p.jump for p in points] == [True, False, False, False]
    assert [p.liquidity for p in points] == [100.0] * 4


def test_high_nearer_to_open_comes_first():
    points = bar_points(bar(101.5, 102.0, 99.5, 100.0))
    assert [p.price for p in points] == [101.5, 102.0, 99.5, 100.0]


def test_tie_goes_high_first():
    points = bar_points(bar(100.0, 101.0, 99.0, 99.5))
    assert [p.price for p in points] == [100.0, 101.0, 99.0, 99.5]


@pytest.mark.parametrize(
    ("tf", "offsets"),
    [
        (Timeframe.M1, [0, 20 * S, 40 * S, 59_800_000_000]),
        (Timeframe.M5, [0, 100 * S, 200 * S, 299 * S]),
        (Timeframe.M15, [0, 300 * S, 600 * S, 897 * S]),
        (Timeframe.H1, [0, 1200 * S, 2400 * S, 3588 * S]),
    ],
)
def test_offsets_scale_with_the_bar_size(tf, offsets):
    assert [p.ts - T0 for p in bar_points(bar(100.0, 101.0, 99.0, 100.0, tf=tf))] == offsets


def test_zero_volume_bar_offers_no_liquidity():
    assert all(p.liquidity == 0.0 for p in bar_points(bar(100.0, 100.0, 100.0, 100.0, v=0.0)))


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -1.0])
def test_invalid_prices_raise(bad):
    # (the events refuse them where they are built, before any point exists)
    with pytest.raises(ValueError, match=r"Bar\.close"):
        bar_points(bar(100.0, 101.0, 99.0, bad))
    with pytest.raises(ValueError, match=r"Trade\.price"):
        trade_point(Trade(symbol="AAPL", ts=T0, price=bad, size=1.0))


def test_invalid_volume_raises():
    with pytest.raises(ValueError, match=r"Bar\.volume"):
        bar_points(bar(100.0, 101.0, 99.0, 100.0, v=math.nan))


def test_print_is_one_jump_point():
    p = trade_point(Trade(symbol="AAPL", ts=T0 + 7, price=101.25, size=300.0))
    assert (p.ts, p.price, p.liquidity, p.jump) == (T0 + 7, 101.25, 300.0, True)


prices = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False)


@st.composite
def bars(draw):
    a, b, c, d = (draw(prices) for _ in range(4))
    lo, hi = min(a, b, c, d), max(a, b, c, d)
    return bar(c, hi, lo, d, v=draw(st.floats(0, 1e7)), tf=draw(st.sampled_from(list(Timeframe))))


@settings(max_examples=200, deadline=None)
@given(bars())
def test_path_properties(b):
    points = bar_points(b)
    path = [p.price for p in points]
    assert path[0] == b.open
    assert path[-1] == b.close
    assert sorted(path[1:3]) == [b.low, b.high]
    first = path[1]
    assert abs(b.open - first) <= abs(b.open - (b.low if first == b.high else b.high))
    stamps = [p.ts for p in points]
    assert stamps[0] == b.ts
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 4
    assert stamps[-1] < b.end
    assert sum(p.liquidity for p in points) == pytest.approx(b.volume)
