"""The configuration tree: defaults, every section's checks, the open sections, the round trip."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings

from vibe_core.config import (
    Config,
    ConfigError,
    ExchangeConfig,
    RiskConfig,
    StrategyConfig,
    ValidationConfig,
    config_from_dict,
    config_to_dict,
    set_path,
)
from vibe_core.strategy import EmaPullbackConfig, MultiConfig, OrbConfig
from vibe_core.testing.strategies import configs
from vibe_core.validation import SupportResistanceConfig, TrendConfig, VolumeConfig


def test_defaults_are_the_documented_ones() -> None:
    cfg = config_from_dict({})
    assert cfg == Config()
    assert cfg.symbols == ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
    assert cfg.strategy == OrbConfig()
    s = cfg.strategy
    assert isinstance(s, OrbConfig)
    assert (s.name, s.opening_range_minutes, s.last_entry_time, s.flatten_minutes_before_close) == (
        "orb",
        15,
        "15:00",
        5,
    )
    assert (s.reward_risk, s.max_trades_per_day, s.allow_short, s.stop_type) == (2.0, 1, False, "range")
    v = cfg.validation
    assert (v.enabled, v.trend, v.volume, v.support_resistance) == (True, True, True, True)
    assert (v.ema_period, v.volume_multiplier, v.volume_sma_period, v.sr_atr_multiple) == (20, 1.5, 20, 0.5)
    assert (v.sr_atr_period, v.sr_atr_timeframe, v.swing_strength, v.swing_lookback_bars) == (14, "1h", 2, 35)
    assert cfg.risk == RiskConfig(risk_per_trade_pct=0.01, max_position_pct=0.2, daily_loss_halt_pct=0.03)
    assert cfg.exchange.preset == "base"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"symbol": ["AAPL"]}, "symbol"),
        ({"strategy": {"stop_pct": 0.02}}, "strategy.stop_pct"),
        ({"strategy": {"name": "ema_pullback", "range_minutes": 3}}, "strategy.range_minutes"),
        ({"validation": {"ema": 20}}, "validation.ema"),
        ({"risk": {"max_positions": 3}}, "risk.max_positions"),
        ({"exchange": {"slippage": 0.1}}, "exchange.slippage"),
    ],
)
def test_an_unknown_key_is_an_error_that_names_it(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert key.split(".")[-1] in str(info.value)
    if "." in key:
        assert key in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"initial_capital": "lots"}, "initial_capital"),
        ({"seed": 1.5}, "seed"),
        ({"strategy": {"reward_risk": "two"}}, "strategy.reward_risk"),
        ({"strategy": {"allow_short": "maybe"}}, "strategy.allow_short"),
        ({"strategy": {"name": "ema_pullback", "ema_period": 2.5}}, "strategy.ema_period"),
        ({"strategy": {"name": 3}}, "strategy.name"),
        ({"validation": {"enabled": "perhaps"}}, "validation.enabled"),
        ({"validation": {"trend": "perhaps"}}, "validation.trend"),
        ({"validation": {"volume_multiplier": "lots"}}, "validation.volume_multiplier"),
        ({"risk": {"allow_margin": 3}}, "risk.allow_margin"),
        ({"exchange": {"fee_min": "free"}}, "exchange.fee_min"),
    ],
)
def test_an_ill_typed_value_is_an_error_that_names_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"initial_capital": 0}, "initial_capital: must be > 0, got 0"),
        ({"strategy": {"last_entry_time": "25:00"}}, "strategy.last_entry_time: '25:00' is not a time"),
        ({"strategy": {"stop_type": "trailing"}}, "strategy.stop_type: 'trailing' is not one of range, atr"),
        ({"strategy": {"flatten_minutes_before_close": -1}}, "strategy.flatten_minutes_before_close: must"),
        ({"strategy": {"name": "ema_pullback", "stop_buffer_pct": 2}}, "strategy.stop_buffer_pct: must be"),
        ({"validation": {"ema_period": 0}}, "validation.ema_period: must be > 0, got 0"),
        ({"validation": {"sr_atr_timeframe": "4h"}}, "validation.sr_atr_timeframe: '4h' is not one of 5m"),
        ({"risk": {"risk_per_trade_pct": 1.5}}, "risk.risk_per_trade_pct: must be within 0..1, got 1.5"),
        ({"exchange": {"preset": "perfect"}}, "exchange.preset: 'perfect' is not one of optimistic"),
        ({"exchange": {"fee_min": -1}}, "exchange.fee_min: must be >= 0, got -1"),
    ],
)
def test_a_value_out_of_range_is_an_error_that_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        config_from_dict(data)


def test_the_fill_model_refuses_a_delay_range_upside_down() -> None:
    cfg = ExchangeConfig(fill_delay_ms_min=500, fill_delay_ms_max=100)
    with pytest.raises(ConfigError, match=r"exchange.fill_delay_ms_max must be >= exchange.fill_delay_ms_m"):
        cfg.fill_model()


def test_the_strategy_section_takes_the_keys_of_the_strategy_it_names() -> None:
    cfg = config_from_dict({"strategy": {"name": "ema_pullback", "ema_period": 9, "allow_short": "yes"}})
    assert cfg.strategy == EmaPullbackConfig(ema_period=9, allow_short=True)
    assert cfg.strategy.name == "ema_pullback" and cfg.strategy.tag == "ema_pullback"
    labelled = config_from_dict({"strategy": {"name": "orb", "label": "orb-wide", "reward_risk": 3}})
    assert labelled.strategy.tag == "orb-wide"


def test_the_validation_section_holds_each_rules_switch_and_keys_flat() -> None:
    cfg = config_from_dict({"validation": {"trend": False, "ema_period": 50, "swing_strength": 3}})
    assert cfg.validation.rule("trend") == TrendConfig(enabled=False, ema_period=50)
    assert cfg.validation.rule("volume") == VolumeConfig()
    assert cfg.validation.rule("support_resistance") == SupportResistanceConfig(swing_strength=3)
    assert cfg.validation.rule("nope") is None
    assert (cfg.validation.trend, cfg.validation.ema_period) == (False, 50)
    assert cfg.validation == ValidationConfig.of(trend=False, ema_period=50, swing_strength=3)
    with pytest.raises(AttributeError, match="validation has no key 'ema'"):
        _ = cfg.validation.ema


def test_multi_holds_strategies_on_their_own_symbols() -> None:
    data = {
        "symbols": ["AAPL", "MSFT", "TSLA"],
        "strategy": {
            "name": "multi",
            "flatten_minutes_before_close": 10,
            "strategies": [
                {"name": "orb", "symbols": ["aapl", "MSFT"], "reward_risk": 3},
                {"name": "ema_pullback", "symbols": "TSLA"},
            ],
        },
    }
    cfg = config_from_dict(data)
    assert cfg.strategy == MultiConfig(
        flatten_minutes_before_close=10,
        strategies=(
            OrbConfig(symbols=("AAPL", "MSFT"), reward_risk=3.0),
            EmaPullbackConfig(symbols=("TSLA",)),
        ),
    )
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        ([{"name": "orb", "symbols": ["AAPL"]}, {"name": "ema_pullback", "symbols": ["AAPL"]}],
         r"strategy\.strategies\[1\]\.symbols: AAPL is already traded by strategy\.strategies\[0\]"),
        ([{"name": "orb"}], r"strategy\.strategies\[0\]\.symbols: each strategy of multi names its symbols"),
        ([{"name": "orb", "symbols": ["NVDA"]}], r"strategy\.symbols: NVDA not in symbols"),
        ([{"name": "orb", "symbols": ["AAPL"]}, {"name": "orb", "symbols": ["MSFT"]}],
         r"strategy\.strategies\[1\]\.label: 'orb' tags strategy\.strategies\[0\] too"),
        ([{"name": "orb", "symbols": ["AAPL"], "flatten_minutes_before_close": 9}],
         r"strategy\.strategies\[0\]\.flatten_minutes_before_close: the engine flattens once"),
        ([{"name": "multi", "symbols": ["AAPL"]}], r"strategies\[0\]\.name: multi cannot hold multi"),
        ([{"name": "orb", "symbols": ["AAPL"], "stop_pct": 1}], r"strategies\[0\]\.stop_pct: unknown key"),
        ([{"name": "nope", "symbols": ["AAPL"]}], r"strategies\[0\]\.name: unknown strategy 'nope'"),
        ("orb", r"strategy\.strategies: expected a list of strategy sections"),
    ],
)  # fmt: skip
def test_multi_refuses_what_cannot_run(strategies: object, message: str) -> None:
    data = {"symbols": ["AAPL", "MSFT"], "strategy": {"name": "multi", "strategies": strategies}}
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_two_strategies_of_one_kind_run_side_by_side_with_labels() -> None:
    legs = [{"name": "orb", "symbols": ["AAPL"]}, {"name": "orb", "symbols": ["MSFT"], "label": "orb-3r"}]
    cfg = config_from_dict({"symbols": ["AAPL", "MSFT"], "strategy": {"name": "multi", "strategies": legs}})
    assert isinstance(cfg.strategy, MultiConfig)
    assert [leg.tag for leg in cfg.strategy.strategies] == ["orb", "orb-3r"]


def test_set_path_checks_strategy_keys_against_the_strategy_named_so_far() -> None:
    data: dict[str, object] = {}
    set_path(data, "strategy.opening_range_minutes", 30)  # orb's, the default
    with pytest.raises(ConfigError, match=r"'strategy.stop_pct' for strategy 'orb'.*name comes first"):
        set_path(data, "strategy.stop_pct", 0.01)  # no registered strategy has it
    set_path(data, "strategy.stop_buffer_pct", 0.01)  # ema_pullback's: its name may come later
    with pytest.raises(ConfigError, match=r"strategy.name: unknown strategy 'nope'"):
        set_path(data, "strategy.name", "nope")
    set_path(data, "strategy.name", "ema_pullback")
    set_path(data, "validation.ema_period", 30)
    set_path(data, "risk.max_open_positions", 2)
    assert data == {
        "strategy": {"opening_range_minutes": 30, "name": "ema_pullback", "stop_buffer_pct": 0.01},
        "validation": {"ema_period": 30},
        "risk": {"max_open_positions": 2},
    }
    with pytest.raises(ConfigError, match=r"^strategy.opening_range_minutes: unknown key"):  # orb's
        config_from_dict(data)
    for key in ("validation.ema", "risk.nope", "nope", "initial_capital.x", "strategy.a.b"):
        with pytest.raises(ConfigError, match=r"config key"):
            set_path({}, key, 1)


@settings(max_examples=60, deadline=None)
@given(cfg=configs())
def test_round_trip_through_json(cfg: Config) -> None:
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert config_from_dict(data) == cfg
    assert config_to_dict(config_from_dict(data)) == data


def test_a_config_class_of_a_strategy_subclasses_the_common_keys() -> None:
    common = {f.name for f in attrs.fields(StrategyConfig)}
    assert common == {"name", "symbols", "label", "flatten_minutes_before_close"}
    for cls in (OrbConfig, EmaPullbackConfig, MultiConfig):
        assert common <= {f.name for f in attrs.fields(cls)}
