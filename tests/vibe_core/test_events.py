"""The fast positional Bar constructor builds exactly what ``Bar(...)`` builds."""

from __future__ import annotations

from hypothesis import given

from vibe_core.events import Bar, make_bar
from vibe_core.testing import strategies as vs


@given(vs.bars())
def test_make_bar_equals_the_attrs_constructor(bar):
    made = make_bar(bar.symbol, bar.timeframe, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume,
                    bar.source)  # fmt: skip
    expected = Bar(symbol=bar.symbol, timeframe=bar.timeframe, ts=bar.ts, open=bar.open, high=bar.high,
                   low=bar.low, close=bar.close, volume=bar.volume, source=bar.source)  # fmt: skip
    assert made == expected and hash(made) == hash(expected)
    assert made.ts_recv is None
