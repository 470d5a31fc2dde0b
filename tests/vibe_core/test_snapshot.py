"""The read model reflects the engine after every step, and round-trips through the codec."""

from __future__ import annotations

import datetime as dt
import json

from vibe_core.codec import structure, unstructure
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, step
from vibe_core.events import Pause
from vibe_core.snapshot import EngineSnapshot, read_model
from vibe_core.testing.market import day_bars, events_for


def test_read_model_follows_a_trade_day(sessions):
    s = sessions.for_date(dt.date(2024, 5, 1))
    rows = [
        (100.0, 101.0, 99.5, 100.5, 1000.0),
        (100.5, 100.8, 99.8, 100.2, 1000.0),
        (100.2, 100.9, 99.9, 100.6, 1000.0),
        (100.6, 101.4, 100.5, 101.3, 1000.0),  # breakout: entry at the next open
        (101.5, 102.0, 101.2, 101.8, 1000.0),
        (101.8, 102.0, 101.7, 101.9, 1000.0),
    ]
    events = events_for([(s, [day_bars(s, "AAPL", rows)])])[:-1]  # stop before the close
    cfg = config_from_dict(
        {"symbols": ["AAPL"], "exchange": {"preset": "optimistic"}, "validation": {"enabled": False}}
    )
    state = new_state(cfg, sessions)
    seen = []
    for e in events:
        state, _ = step(state, e)
        seen.append(read_model(state))
    last = seen[-1]
    assert last.session_date == "2024-05-01" and last.session_open
    (pos,) = last.positions
    assert (pos.symbol, pos.qty, pos.avg_price, pos.last_price) == ("AAPL", 19, 101.5, 101.9)
    assert {o.tag for o in last.working_orders} == {"stop", "target"}
    assert last.account.equity == state.portfolio.cash + 19 * 101.9
    assert last.fills == 1 and not last.paused
    assert seen[0].positions == () and seen[0].working_orders == ()
    state, _ = step(state, Pause(ts=state.now))
    assert read_model(state).paused
    again = structure(json.loads(json.dumps(unstructure(last))), EngineSnapshot)
    assert again == last
