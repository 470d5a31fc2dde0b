"""1m input bars are aggregated to 5m by the core: a market given as 1m bars trades like its 5m bars.

Each 5m bar of the sample becomes five 1m bars: the first carries the whole bar (O, H, L, C, V), the
other four are flat at C with no volume, so the 5m bars the core builds are exactly the originals
and the price path inside each 5m interval visits the same points in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import BarSeries
from vibe_backtest.sample import sample_market
from vibe_core.types import Timeframe

MINUTE = 60 * 10**9


def to_one_minute(series: BarSeries) -> BarSeries:
    n = len(series)
    ts = (series.ts[:, None] + np.arange(5)[None, :] * MINUTE).ravel()

    def spread(first: np.ndarray, rest: np.ndarray) -> np.ndarray:
        return np.column_stack([first, *([rest] * 4)]).ravel()

    return BarSeries(
        symbol=series.symbol,
        timeframe=Timeframe.M1,
        source=series.source,
        ts=ts,
        open=spread(series.open, series.close),
        high=spread(series.high, series.close),
        low=spread(series.low, series.close),
        close=spread(series.close, series.close),
        volume=spread(series.volume, np.zeros(n)),
    )


@pytest.mark.parametrize(
    "config", [{}, {"exchange": {"preset": "optimistic"}, "validation": {"enabled": False}}]
)
def test_one_minute_bars_trade_like_their_five_minute_bars(config):
    five = sample_market(["AAPL", "TSLA"], sessions=calendar(), n_sessions=15)
    one = {s: to_one_minute(v) for s, v in five.items()}
    a = run_backtest(five, config=config, keep_bars=False)
    b = run_backtest(one, config=config, keep_bars=False)
    assert b.summary["bars_processed"] == 5 * a.summary["bars_processed"]
    assert len(a.trades) > 0
    cols = ["symbol", "side", "qty", "entry_price", "exit_price", "exit_reason"]
    assert b.trades[cols].to_dict("records") == a.trades[cols].to_dict("records")
    # the same days and entries; exits fall in the same 5-minute interval
    assert (b.trades["entry_time"] == a.trades["entry_time"]).all()
    assert (b.trades["exit_time"].dt.floor("5min") == a.trades["exit_time"].dt.floor("5min")).all()
    assert b.summary["final_equity"] == pytest.approx(a.summary["final_equity"])
