"""Several strategies in one engine (``strategy.name: multi``), each on its own symbols, tagged.

AAPL's day has an opening range breakout, MSFT's a steady climb with one pullback to its EMA; the
climb would also break MSFT's opening range, so an ORB that saw MSFT would signal there too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from vibe_core.actions import Action, SignalEvaluated, TradeClosed
from vibe_core.calendar import Session, SessionTable
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.events import Filled
from vibe_core.strategy import MultiStrategy
from vibe_core.testing.market import as_slices, day_bars, events_for

from .test_ema_pullback import PULLBACK, trend

RANGE = (100.0, 101.0, 99.0, 100.0, 1000.0)
INSIDE = (100.0, 100.5, 99.5, 100.0, 1000.0)
UP = (100.0, 102.0, 100.0, 101.5, 1000.0)


@pytest.fixture
def day(sessions: SessionTable) -> Session:
    s = sessions.for_date(dt.date(2024, 5, 1))
    assert s is not None
    return s


def market(day: Session) -> list[Any]:
    n = int((day.close - day.open) // (5 * 60 * 10**9))
    aapl = [RANGE] * 3 + [INSIDE] * 2 + [UP] + [INSIDE] * (n - 6)
    return events_for(
        [
            (
                day,
                [
                    day_bars(day, "AAPL", aapl),
                    day_bars(day, "MSFT", trend(n)),
                    day_bars(day, "GOOGL", trend(n)),
                ],
            )
        ]
    )


def run(
    sessions: SessionTable, day: Session, strategy: dict[str, Any], *, restart_at: int = -1
) -> list[Action]:
    cfg = config_from_dict(
        {
            "symbols": ["AAPL", "MSFT", "GOOGL"],
            "strategy": strategy,
            "validation": {"enabled": False},
            "exchange": {"preset": "optimistic"},
        }
    )
    state = new_state(cfg, sessions)
    actions: list[Action] = []
    for i, event in enumerate(as_slices(market(day))):
        state, out = step(state, event)
        actions += out
        if i == restart_at:
            state = load_state(save_state(state), sessions)
    return actions


MULTI = {
    "name": "multi",
    "strategies": [
        {"name": "orb", "symbols": ["AAPL"], "label": "orb-aapl"},
        {"name": "ema_pullback", "symbols": ["MSFT"], "ema_period": 5},
    ],
}


def signals(actions: list[Action]) -> list[tuple[str, str, int]]:
    return [
        (a.signal.symbol, a.signal.strategy, a.signal.ts) for a in actions if isinstance(a, SignalEvaluated)
    ]


def test_each_strategy_sees_only_its_symbols_and_tags_what_follows(
    sessions: SessionTable, day: Session
) -> None:
    actions = run(sessions, day, MULTI)
    assert signals(actions) == [
        ("AAPL", "orb-aapl", day.open + 6 * 5 * 60 * 10**9),
        ("MSFT", "ema_pullback", day.open + (PULLBACK + 1) * 5 * 60 * 10**9),
    ]  # GOOGL climbs like MSFT but belongs to no strategy
    fills = [a.fill for a in actions if isinstance(a, Filled)]
    assert {(f.symbol, f.tag, f.strategy) for f in fills if f.tag == "entry"} == {
        ("AAPL", "entry", "orb-aapl"),
        ("MSFT", "entry", "ema_pullback"),
    }
    assert any(f.tag == "eod" for f in fills)
    for f in fills:  # the bracket legs and the flatten carry the strategy of the entry
        assert f.strategy == {"AAPL": "orb-aapl", "MSFT": "ema_pullback"}[f.symbol]
    trades = {a.trade.symbol: a.trade.strategy for a in actions if isinstance(a, TradeClosed)}
    assert trades == {"AAPL": "orb-aapl", "MSFT": "ema_pullback"}


def test_an_orb_on_every_symbol_would_have_traded_msft_and_googl(
    sessions: SessionTable, day: Session
) -> None:
    symbols = {s for s, _, _ in signals(run(sessions, day, {"name": "orb"}))}
    assert symbols == {"AAPL", "MSFT", "GOOGL"}
    limited = signals(run(sessions, day, {"name": "orb", "symbols": ["AAPL"]}))
    assert [(s, tag) for s, tag, _ in limited] == [("AAPL", "orb")]


def test_a_restart_continues_every_strategy(sessions: SessionTable, day: Session) -> None:
    whole = run(sessions, day, MULTI)
    for restart_at in (4, PULLBACK + 1, PULLBACK + 5):
        assert run(sessions, day, MULTI, restart_at=restart_at) == whole


def test_the_strategies_indicators_are_all_in_the_bank(sessions: SessionTable) -> None:
    cfg = config_from_dict(
        {
            "symbols": ["AAPL", "MSFT"],
            "strategy": {
                "name": "multi",
                "strategies": [
                    {"name": "orb", "symbols": ["AAPL"], "stop_type": "atr", "atr_period": 10},
                    {"name": "ema_pullback", "symbols": ["MSFT"], "ema_period": 9},
                ],
            },
            "validation": {"enabled": False},
        }
    )
    state = new_state(cfg, sessions)
    assert isinstance(state.strategy, MultiStrategy)
    assert {"atr10@5m", "ema9@5m", "ema9@15m", "sma1@15m"} <= {s.key for s in state.indicators.specs}
