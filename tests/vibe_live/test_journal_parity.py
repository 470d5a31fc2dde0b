"""The journal's read tables over the sample market's prints hold what the backtester reports over its
bars: the same equity samples (time, cash, equity), trades and fills. This is what lets a later
``vibe-live export`` write the backtester's files from the store."""

from __future__ import annotations

import numpy as np
import pytest

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.engine import new_state
from vibe_core.events import Clock, Trade
from vibe_core.sim.points import bar_points
from vibe_live.recovery import Journal
from vibe_live.store import Store


def replay(market, sessions):
    """The bars as a replay feed sends them: four prints per bar, a Clock at each session close."""
    events, close = [], None
    for bar in iter_bars(market):
        session = sessions.session_at(bar.ts)
        if close is not None and session.close != close:
            events.append(Clock(ts=close))
        close = session.close
        events.extend(
            Trade(symbol=bar.symbol, ts=p.ts, price=p.price, size=p.liquidity) for p in bar_points(bar)
        )
    events.sort(key=lambda e: e.ts)
    return [*events, Clock(ts=close)]


@pytest.mark.parametrize("preset", ["optimistic", "base"])
def test_the_journal_records_what_the_backtester_reports(tmp_path, preset):
    sessions = calendar()
    market = sample_market(sessions=sessions, n_sessions=12)
    # the volatility term of slippage reads the current bar in bar mode and the last closed bar for
    # prints (see tests/vibe_core/test_replay_parity.py), so it is off here
    config = {"exchange": {"preset": preset, "slippage_volatility": 0.0}}
    result = run_backtest(market, config=config, keep_bars=False)
    with Store(tmp_path / "vibe.db") as store:
        journal = Journal.resume(store, lambda: new_state(result.config, sessions))
        events = replay(market, sessions)
        for i in range(0, len(events), 64):
            journal.feed(events[i : i + 64])
        equity, trades, fills = store.rows("equity"), store.rows("trades"), store.rows("fills")

    assert len(result.trades) > 3
    assert [r["time"] for r in equity] == [t.value for t in result.equity.index]
    np.testing.assert_allclose([r["cash"] for r in equity], result.equity["cash"], rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["equity"] for r in equity], result.equity["equity"], rtol=0, atol=1e-9)
    columns = ["symbol", "side", "qty", "entry_price", "exit_price", "exit_reason"]
    assert [tuple(r[c] for c in columns) for r in trades] == [
        tuple(row) for row in result.trades[columns].itertuples(index=False)
    ]
    assert [r["exit_time"] for r in trades] == [t.value for t in result.trades["exit_time"]]
    assert sorted((r["order_id"], r["qty"], r["price"]) for r in fills) == sorted(
        zip(result.fills["order_id"], result.fills["qty"], result.fills["price"], strict=True)
    )
