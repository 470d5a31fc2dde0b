"""A new strategy plugs in by name (``strategy.name``) without touching the engine.

The toy strategy here writes the whole protocol by hand, except ``on_bars``, which the
:class:`~vibe_core.strategy.PerBar` mixin derives from its ``on_bar``: it buys the second primary
bar of each day that closes up, once a day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from vibe_core.actions import SignalEvaluated
from vibe_core.calendar import Session
from vibe_core.config import ConfigError, StrategyConfig, config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.events import Bar, Filled
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.strategy import PerBar, register, registered
from vibe_core.testing.market import as_slices, day_bars, events_for
from vibe_core.types import Side, Timeframe


@attrs.frozen(kw_only=True)
class SecondUpBarConfig(StrategyConfig):
    name: str = "second-up-bar"
    stop_distance: float = 1.0


@attrs.define
class SecondUpBar(PerBar):
    config_class = SecondUpBarConfig

    config: SecondUpBarConfig
    name: str = "second-up-bar"
    ups: dict[str, int] = attrs.Factory(dict)  #: up bars seen today, per symbol

    @classmethod
    def from_config(cls, config: SecondUpBarConfig) -> SecondUpBar:
        return cls(config=config)

    @classmethod
    def restore(cls, config: SecondUpBarConfig, data: dict[str, Any]) -> SecondUpBar:
        return cls(config=config, ups=dict(data["ups"]))

    def required_indicators(self) -> list[IndicatorSpec]:
        return []

    def on_session_open(self, symbol: str, session: Session) -> None:
        self.ups[symbol] = 0

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        if bar.timeframe is not Timeframe.M5 or bar.close <= bar.open or position != 0:
            return None
        self.ups[bar.symbol] = self.ups.get(bar.symbol, 0) + 1
        if self.ups[bar.symbol] != 2:
            return None
        return Signal(
            symbol=bar.symbol,
            ts=bar.end,
            side=Side.BUY,
            price=bar.close,
            stop=round(bar.close - self.config.stop_distance, 2),
            target=round(bar.close + 2.0, 2),
            strategy=self.name,
        )

    def on_entry(self, symbol: str) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"ups": dict(self.ups)}


register("second-up-bar", SecondUpBar)


def test_registered_names_and_unknown_names() -> None:
    assert {"orb", "ema_pullback", "multi", "second-up-bar"} <= set(registered())
    with pytest.raises(ConfigError, match=r"strategy.name: unknown strategy 'nope'; known: .*orb"):
        config_from_dict({"symbols": ["AAPL"], "strategy": {"name": "nope"}})


def test_the_strategy_section_is_checked_by_the_strategys_own_config_class() -> None:
    cfg = config_from_dict({"strategy": {"name": "second-up-bar", "stop_distance": 0.5}})
    assert cfg.strategy == SecondUpBarConfig(stop_distance=0.5)
    with pytest.raises(ConfigError, match=r"^strategy.reward_risk: unknown key \(valid here: .*stop_dist"):
        config_from_dict({"strategy": {"name": "second-up-bar", "reward_risk": 2}})
    with pytest.raises(ConfigError, match=r"expected float @ strategy.stop_distance"):
        config_from_dict({"strategy": {"name": "second-up-bar", "stop_distance": "far"}})


def test_an_import_path_names_a_strategy_without_registering_it() -> None:
    path = f"{__name__}:SecondUpBar"
    cfg = config_from_dict({"strategy": {"name": path, "stop_distance": 2}})
    assert cfg.strategy.name == path and isinstance(cfg.strategy, SecondUpBarConfig)
    with pytest.raises(ConfigError, match=r"strategy.name: cannot import 'no_such_pkg.mod:X'"):
        config_from_dict({"strategy": {"name": "no_such_pkg.mod:X"}})
    with pytest.raises(ConfigError, match=r"strategy.name: 'attrs:define' has no config_class"):
        config_from_dict({"strategy": {"name": "attrs:define"}})


@pytest.mark.parametrize("sliced", [False, True], ids=["bars", "slices"])
def test_a_registered_per_bar_strategy_trades_through_the_engine(sessions, sliced) -> None:
    s = sessions.for_date(dt.date(2024, 5, 1))
    assert s is not None
    n = (s.close - s.open) // Timeframe.M5.ns
    rows = [(100.0, 100.6, 99.9, 100.5, 1000.0), (100.5, 100.6, 100.0, 100.2, 1000.0)]  # up, down
    rows += [(100.2, 100.9, 100.1, 100.8, 1000.0)]  # the second up bar: the signal at its close
    rows += [(100.9, 101.0, 100.7, 100.9, 1000.0)] * (n - len(rows))
    events = events_for([(s, [day_bars(s, "AAPL", rows)])])
    if sliced:
        events = as_slices(events)
    cfg = config_from_dict(
        {
            "symbols": ["AAPL"],
            "strategy": {"name": "second-up-bar" if not sliced else f"{__name__}:SecondUpBar"},
            "validation": {"enabled": False},
            "exchange": {"preset": "optimistic"},
        }
    )
    state = new_state(cfg, sessions)
    actions = []
    for i, event in enumerate(events):
        state, out = step(state, event)
        actions += out
        if i == 1:  # a restart in the middle of the day continues the same strategy state
            state = load_state(save_state(state), sessions)
    assert isinstance(state.strategy, SecondUpBar)
    (signal,) = [a for a in actions if isinstance(a, SignalEvaluated)]
    assert signal.accepted and signal.signal.strategy == "second-up-bar"
    assert {f.strategy for f in (a.fill for a in actions if isinstance(a, Filled)) if f.tag == "entry"} == {
        "second-up-bar"
    }
    assert signal.signal.ts == s.open + 3 * Timeframe.M5.ns
    entry, exit_ = [a.fill for a in actions if isinstance(a, Filled)]
    assert (entry.price, entry.ts) == (100.9, s.open + 3 * Timeframe.M5.ns)  # the next bar's open
    assert exit_.tag == "eod"
