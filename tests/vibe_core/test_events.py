"""The fast positional Bar constructor builds exactly what ``Bar(...)`` builds."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from vibe_core.events import Bar, BarSlice, make_bar
from vibe_core.testing import strategies as vs
from vibe_core.testing.builders import bar


@given(vs.bars())
def test_make_bar_equals_the_attrs_constructor(bar):
    made = make_bar(bar.symbol, bar.timeframe, bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume,
                    bar.source)  # fmt: skip
    expected = Bar(symbol=bar.symbol, timeframe=bar.timeframe, ts=bar.ts, open=bar.open, high=bar.high,
                   low=bar.low, close=bar.close, volume=bar.volume, source=bar.source)  # fmt: skip
    assert made == expected and hash(made) == hash(expected)
    assert made.ts_recv is None


def test_bar_slice_holds_bars_of_its_own_open_time_only():
    a = bar(symbol="AAPL", ts=0)
    b = bar(symbol="MSFT", ts=0)
    assert BarSlice(ts=0, bars=[a, b]).bars == (a, b)  # any sequence, kept as a tuple
    with pytest.raises(ValueError, match="MSFT 5m bar opens at 300000000000"):
        BarSlice(ts=0, bars=(a, attrs.evolve(b, ts=300 * 10**9)))
