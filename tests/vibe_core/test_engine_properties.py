"""Hypothesis properties of the whole engine over generated market days."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibe_core.actions import SignalEvaluated, TradeClosed
from vibe_core.calendar import ns_to_datetime, nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.events import Bar, BarSlice, Clock, Filled, OrderAccepted
from vibe_core.testing.market import as_slices, events_for, random_day

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]  # includes 2024-11-29 (13:00 close) and DST
SYMBOLS = ("AAPL", "MSFT", "TSLA")
START = {"AAPL": 190.0, "MSFT": 420.0, "TSLA": 180.0}


@st.composite
def markets(draw):
    first = draw(st.integers(0, len(DAYS) - 3))
    n_days = draw(st.integers(1, 3))
    symbols = SYMBOLS[: draw(st.integers(1, 3))]
    days = []
    for session in DAYS[first : first + n_days]:
        per_symbol = []
        for sym in symbols:
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            per_symbol.append(
                random_day(
                    session,
                    sym,
                    rng,
                    start=START[sym],
                    volatility=draw(st.sampled_from([0.001, 0.002, 0.004])),
                    drift=draw(st.sampled_from([-0.0005, 0.0, 0.0005, 0.001])),
                    gap=draw(st.sampled_from([0.0, 0.01, -0.01])),
                )
            )
        days.append((session, per_symbol))
    return symbols, events_for(days)


@st.composite
def configs(draw, symbols):
    return config_from_dict(
        {
            "symbols": list(symbols),
            "seed": draw(st.integers(0, 1000)),
            "exchange": {"preset": draw(st.sampled_from(["optimistic", "base", "pessimistic"]))},
            "validation": {"enabled": draw(st.booleans())},
            "strategy": {
                "allow_short": draw(st.booleans()),
                "stop_type": draw(st.sampled_from(["range", "atr", "percent"])),
                "max_trades_per_day": draw(st.integers(1, 2)),
                "reward_risk": draw(st.sampled_from([1.0, 2.0, 3.0])),
                "last_entry_time": draw(st.sampled_from(["11:00", "15:00"])),
            },
            "risk": {
                "risk_per_trade_pct": draw(st.sampled_from([0.01, 0.05])),
                "max_position_pct": draw(st.sampled_from([0.2, 0.5])),
            },
        }
    )


@st.composite
def scenarios(draw):
    symbols, events = draw(markets())
    return draw(configs(symbols)), events


def run_all(cfg, events):
    state = new_state(cfg, SESSIONS)
    per_event = []
    for e in events:
        state, actions = step(state, e)
        per_event.append(actions)
    return state, per_event


SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_invariants_after_every_step(scenario):
    cfg, events = scenario
    state = new_state(cfg, SESSIONS)
    cash = cfg.initial_capital
    qty: dict[str, int] = defaultdict(int)
    mark: dict[str, float] = {}
    ordered: dict[str, int] = {}
    filled: dict[str, int] = defaultdict(int)
    entries_per_day: dict[tuple[str, object], int] = defaultdict(int)
    last_bar: dict[str, Bar] = {}
    for event in events:
        state, actions = step(state, event)
        for a in actions:
            if isinstance(a, OrderAccepted) and a.order is not None:
                ordered[a.order.id] = a.order.qty
                if a.order.tag == "entry":
                    local = ns_to_datetime(a.order.ts)
                    assert local.strftime("%H:%M") <= cfg.strategy.last_entry_time
                    entries_per_day[(a.order.symbol, local.date())] += 1
                    assert entries_per_day[(a.order.symbol, local.date())] <= cfg.strategy.max_trades_per_day
            if isinstance(a, Filled):
                f = a.fill
                filled[f.order_id] += f.qty
                assert f.qty > 0 and filled[f.order_id] <= ordered[f.order_id]
                if isinstance(event, Bar) and f.symbol == event.symbol:
                    assert event.low - 1e-9 <= f.ref_price <= event.high + 1e-9
                else:  # a new order met the last price, or a market order filled at the close
                    assert f.ref_price == mark[f.symbol]
                cash -= f.side.sign * f.qty * f.price + f.fee
                qty[f.symbol] += f.side.sign * f.qty
                mark[f.symbol] = f.price
            if isinstance(a, SignalEvaluated):
                # decided when time has reached the signal bar's end (no bar is used before it closed)
                closed_bar = last_bar[a.signal.symbol]
                assert a.signal.ts == closed_bar.ts + closed_bar.timeframe.ns <= event.ts
                assert a.signal.price == closed_bar.close
        if isinstance(event, Bar):
            mark[event.symbol] = event.close
            last_bar[event.symbol] = event
        equity = cash + sum(q * mark[s] for s, q in qty.items() if q)
        assert state.portfolio.cash == pytest.approx(cash, abs=1e-6)
        assert state.portfolio.equity() == pytest.approx(equity, abs=1e-6)
        assert {s: q for s, q in qty.items() if q} == {s: p.qty for s, p in state.portfolio.positions.items()}
        if not cfg.risk.allow_margin:
            assert state.portfolio.cash >= -1e-6
        if isinstance(event, Clock):
            assert state.portfolio.positions == {}, "flat at the end of every session"


@SETTINGS
@given(scenarios())
def test_deterministic(scenario):
    cfg, events = scenario
    s1, a1 = run_all(cfg, events)
    s2, a2 = run_all(cfg, events)
    assert a1 == a2
    assert save_state(s1) == save_state(s2)


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_bar_slices_act_exactly_like_their_bars_one_by_one(scenario, rnd):
    """A step's bars as one BarSlice, as single Bar events, or split across slices: same run."""
    cfg, events = scenario
    state, expected = run_all(cfg, events)
    mixed = []
    for e in as_slices(events):
        if not isinstance(e, BarSlice):
            mixed.append(e)
            continue
        how = rnd.choice(["slice", "bars", "split"])
        if how == "slice":
            mixed.append(e)
        elif how == "bars":
            mixed.extend(e.bars)
        else:
            k = rnd.randint(0, len(e.bars))
            mixed += [BarSlice(ts=e.ts, bars=e.bars[:k]), BarSlice(ts=e.ts, bars=e.bars[k:])]
    got_state, got = run_all(cfg, mixed)
    assert [a for acts in got for a in acts] == [a for acts in expected for a in acts]
    assert save_state(got_state) == save_state(state)


@SETTINGS
@given(scenarios(), st.floats(0, 1))
def test_snapshot_restore_continue_equals_uninterrupted(scenario, where):
    cfg, events = scenario
    cut = int(where * len(events))
    state, expected = run_all(cfg, events)
    s = new_state(cfg, SESSIONS)
    got = []
    for e in events[:cut]:
        s, actions = step(s, e)
        got.append(actions)
    s = load_state(json.loads(json.dumps(save_state(s))), SESSIONS)
    for e in events[cut:]:
        s, actions = step(s, e)
        got.append(actions)
    assert got == expected
    assert save_state(s) == save_state(state)


@SETTINGS
@given(scenarios())
def test_events_are_not_modified_and_trades_balance(scenario):
    cfg, events = scenario
    before = [repr(e) for e in events]
    state, per_event = run_all(cfg, events)
    assert [repr(e) for e in events] == before
    trades = [a.trade for actions in per_event for a in actions if isinstance(a, TradeClosed)]
    realized = sum(t.pnl for t in trades)
    assert state.portfolio.cash == pytest.approx(cfg.initial_capital + realized, abs=1e-6)
