"""The replay feed sends each bar as its four points, merged in time, paced, resumable."""

from __future__ import annotations

import time

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_backtest.api import load_market
from vibe_backtest.data import iter_bars
from vibe_core.events import Bar
from vibe_core.types import Timeframe
from vibe_live.feeds.replay import ReplayFeed, bar_prints, frames_of, replay_prints

T0 = 1_714_570_200_000_000_000  # 2024-05-01 09:30 New York
FIVE = Timeframe.M5.ns


@st.composite
def bars(draw):
    """Time-ordered 5m bars of up to three symbols, with gaps (a symbol may miss an interval)."""
    out = []
    for step in range(draw(st.integers(1, 12))):
        for symbol in ("AAPL", "MSFT", "TSLA"):
            if draw(st.booleans()):
                o, c = draw(st.floats(10, 20)), draw(st.floats(10, 20))
                hi = max(o, c) + draw(st.floats(0, 2))
                lo = min(o, c) - draw(st.floats(0, 2))
                v = float(draw(st.integers(0, 10_000)))
                out.append(
                    Bar(symbol=symbol, timeframe=Timeframe.M5, ts=T0 + step * FIVE, open=o, high=hi,
                        low=lo, close=c, volume=v)
                )  # fmt: skip
    return out


def test_a_bar_becomes_its_four_points():
    bar = Bar(symbol="AAPL", timeframe=Timeframe.M5, ts=T0, open=10, high=12, low=9.5, close=11, volume=400)
    prints = bar_prints(bar)
    assert [p.price for p in prints] == [10, 9.5, 12, 11]  # the low is nearer the open
    assert [p.ts - T0 for p in prints] == [0, 100 * 10**9, 200 * 10**9, 299 * 10**9]
    assert sum(p.size for p in prints) == 400
    assert {p.symbol for p in prints} == {"AAPL"}


@settings(max_examples=60, deadline=None)
@given(bars())
def test_prints_are_time_ordered_and_keep_every_bar(bs):
    prints = list(replay_prints(bs))
    assert [p.ts for p in prints] == sorted(p.ts for p in prints)
    for symbol in ("AAPL", "MSFT", "TSLA"):
        mine = [p for p in prints if p.symbol == symbol]
        expected = [p for b in bs if b.symbol == symbol for p in bar_prints(b)]
        assert mine == expected
    # at one instant, symbols keep the order their bars came in
    for frame in frames_of(prints):
        order = [b.symbol for b in bs if b.ts <= frame[0].ts < b.ts + FIVE]
        assert [p.symbol for p in frame] == [s for s in order if s in {p.symbol for p in frame}]


@settings(max_examples=40, deadline=None)
@given(bars(), st.data())
def test_skip_resumes_exactly_after_what_was_sent(bs, data):
    everything = list(replay_prints(bs))
    n = data.draw(st.integers(0, len(everything)))

    async def collect(feed):
        return [p for frame in [f async for f in feed.frames()] for p in frame]

    feed = ReplayFeed(bs, skip=n)
    rest = anyio.run(collect, feed)
    assert everything[:n] + rest == everything
    assert feed.sent == len(everything)


def test_speed_paces_feed_time_against_the_wall_clock():
    # two 5m bars: the last print is 299 s + 300 s after the first; at 3000x that is 0.2 s
    bs = [
        Bar(symbol="AAPL", timeframe=Timeframe.M5, ts=T0 + k * FIVE, open=10, high=11, low=9, close=10.5,
            volume=100)
        for k in range(2)
    ]  # fmt: skip

    async def play(speed):
        started = time.monotonic()
        async for _ in ReplayFeed(bs, speed=speed).frames():
            pass
        return time.monotonic() - started

    assert anyio.run(play, 3000.0) >= 0.599 / 3
    assert anyio.run(play, None) < 0.1


def test_the_sample_market_replays_as_four_prints_a_bar():
    market = load_market(symbols=["AAPL", "MSFT"], start="2024-05-01", end="2024-05-03")
    n_bars = sum(len(s) for s in market.values())
    prints = list(replay_prints(iter_bars(market)))
    assert len(prints) == 4 * n_bars
    assert sum(p.size for p in prints) == pytest.approx(sum(float(s.volume.sum()) for s in market.values()))


@pytest.mark.parametrize(("speed", "skip"), [(0.0, 0), (-1.0, 0), (None, -1)])
def test_bad_arguments_are_named(speed, skip):
    with pytest.raises(ValueError, match=r"speed|skip"):
        ReplayFeed([], speed=speed, skip=skip)
