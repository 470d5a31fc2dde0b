"""Configuration layering of the shells (vibe_backtest.settings): YAML < VIBE__SECTION__KEY < --set."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_backtest.settings import ENV_PREFIX, load_settings, parse_assignment
from vibe_core.config import Config, ConfigError, config_to_dict


def yaml_file(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_layers_gives_the_defaults_in_code() -> None:
    assert load_settings(environ={}) == Config()


def test_each_layer_overrides_the_one_below_key_by_key(tmp_path: Path) -> None:
    path = yaml_file(
        tmp_path,
        "strategy:\n  reward_risk: 1.5\n  opening_range_minutes: 30\n  last_entry_time: '14:00'\n"
        "exchange:\n  preset: pessimistic\n",
    )
    env = {"VIBE__STRATEGY__REWARD_RISK": "3", "VIBE__STRATEGY__OPENING_RANGE_MINUTES": "20"}
    only_yaml = load_settings(path, environ={})
    assert only_yaml.strategy.reward_risk == 1.5
    assert only_yaml.strategy.opening_range_minutes == 30

    with_env = load_settings(path, environ=env)
    assert with_env.strategy.reward_risk == 3.0  # env beats YAML
    assert with_env.strategy.opening_range_minutes == 20
    assert with_env.strategy.last_entry_time == "14:00"  # YAML-only keys survive
    assert with_env.exchange.preset == "pessimistic"

    with_set = load_settings(path, ["strategy.reward_risk=4", "exchange.preset=optimistic"], environ=env)
    assert with_set.strategy.reward_risk == 4.0  # --set beats env
    assert with_set.exchange.preset == "optimistic"  # --set beats YAML
    assert with_set.strategy.opening_range_minutes == 20  # env still beats YAML
    # every key no layer touched keeps its default
    untouched = config_to_dict(with_set)
    defaults = config_to_dict(Config())
    for section in ("validation", "risk"):
        assert untouched[section] == defaults[section]


def test_later_set_wins_over_an_earlier_one() -> None:
    cfg = load_settings(None, ["seed=1", "seed=2"], environ={})
    assert cfg.seed == 2


def test_environment_values_are_parsed_to_the_key_types() -> None:
    env = {
        "VIBE__STRATEGY__REWARD_RISK": "3",
        "VIBE__VALIDATION__ENABLED": "false",
        "VIBE__SYMBOLS": "aapl,MSFT",
        "VIBE__EXCHANGE__PRESET": "optimistic",
        "VIBE__RISK__MAX_OPEN_POSITIONS": "2",
        "VIBE__STRATEGY__LAST_ENTRY_TIME": "14:30",
    }
    cfg = load_settings(environ=env)
    assert cfg.strategy.reward_risk == 3.0 and isinstance(cfg.strategy.reward_risk, float)
    assert cfg.validation.enabled is False
    assert cfg.symbols == ("AAPL", "MSFT")
    assert cfg.exchange.preset == "optimistic"
    assert cfg.risk.max_open_positions == 2
    assert cfg.strategy.last_entry_time == "14:30"


def test_the_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBE__STRATEGY__REWARD_RISK", "3")
    assert load_settings().strategy.reward_risk == 3.0
    assert load_settings(None, ["strategy.reward_risk=2.5"]).strategy.reward_risk == 2.5


def test_variables_without_the_double_underscore_prefix_are_ignored() -> None:
    assert ENV_PREFIX == "VIBE__"
    env = {"VIBE_STRATEGY__REWARD_RISK": "9", "VIBE": "x", "OTHER__SEED": "5", "vibe__seed": "4"}
    assert load_settings(environ=env) == Config()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VIBE__STRATEGY__REWARD_RSK": "3"}, "strategy.reward_rsk"),
        ({"VIBE__NOPE": "1"}, "nope"),
        ({"VIBE__STRATEGY__REWARD_RISK__X": "1"}, "strategy.reward_risk.x"),
    ],
)
def test_unknown_environment_keys_are_errors_naming_the_key(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match="environment") as info:
        load_settings(environ=env)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("strategy.reward_risk=abc", "strategy.reward_risk"),
        ("strategy.opening_range_minutes=1.5", "strategy.opening_range_minutes"),
        ("validation.enabled=maybe", "validation.enabled"),
        ("strategy.opening_range_minutes=-5", "opening_range_minutes"),
        ("strategy.last_entry_time=25:99", "last_entry_time"),
        ("exchange.preset=reckless", "exchange.preset"),
        ("strategy.stop_type=trailing", "strategy.stop_type"),
    ],
)
def test_ill_typed_values_are_errors_naming_the_key(assignment: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, [assignment], environ={})
    assert named in str(info.value)


def test_unknown_set_keys_name_the_key_and_the_layer() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, ["strategy.reward_rsk=2"], environ={})
    message = str(info.value)
    assert "--set" in message and "strategy.reward_rsk" in message
    assert "reward_risk" in message  # the valid keys are listed


def test_yaml_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = yaml_file(tmp_path, "strategy: [1, 2\n", "broken.yaml")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_settings(broken, environ={})
    unknown = yaml_file(tmp_path, "strategy:\n  reward_rsk: 2\n", "unknown.yaml")
    with pytest.raises(ConfigError, match=r"unknown\.yaml.*strategy\.reward_rsk"):
        load_settings(unknown, environ={})
    scalar = yaml_file(tmp_path, "- a\n- b\n", "list.yaml")
    with pytest.raises(ConfigError, match=r"list\.yaml.*mapping"):
        load_settings(scalar, environ={})
    with pytest.raises(ConfigError, match=r"missing\.yaml.*not found"):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_an_empty_yaml_file_is_no_layer(tmp_path: Path) -> None:
    assert load_settings(yaml_file(tmp_path, ""), environ={}) == Config()


def test_times_of_day_stay_strings_in_every_layer(tmp_path: Path) -> None:
    # YAML 1.1 reads 14:30 as the base-60 integer 870; a time of day must stay "14:30".
    path = yaml_file(tmp_path, "strategy:\n  last_entry_time: 14:30\n")
    assert load_settings(path, environ={}).strategy.last_entry_time == "14:30"
    env = {"VIBE__STRATEGY__LAST_ENTRY_TIME": "10:45"}
    assert load_settings(environ=env).strategy.last_entry_time == "10:45"
    cfg = load_settings(None, ["strategy.last_entry_time=15:15"], environ={})
    assert cfg.strategy.last_entry_time == "15:15"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("strategy.reward_risk=2.5", ("strategy.reward_risk", 2.5)),
        ("seed=3", ("seed", 3)),
        ("validation.enabled=false", ("validation.enabled", False)),
        ("symbols=AAPL,MSFT", ("symbols", "AAPL,MSFT")),
        (" strategy.name = orb ", ("strategy.name", "orb")),
        ("strategy.name=", ("strategy.name", "")),
        ("strategy.name=a=b", ("strategy.name", "a=b")),
        ("strategy.name=[1", ("strategy.name", "[1")),
        ("strategy.name=[1, 2]", ("strategy.name", "[1, 2]")),
        ("strategy.last_entry_time=14:30", ("strategy.last_entry_time", "14:30")),
    ],
)
def test_parse_assignment(text: str, expected: tuple[str, object]) -> None:
    key, value = parse_assignment(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize("text", ["noequals", "=3", " =3"])
def test_parse_assignment_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ConfigError, match=r"key\.path=value"):
        parse_assignment(text)


def test_the_feed_section_is_a_core_section_for_the_backtester() -> None:
    assert load_settings(overrides=["feed.stale_seconds=30"], environ={}).feed.stale_seconds == 30.0
    assert load_settings(environ={"VIBE__FEED__STALE_SECONDS": "90"}).feed.stale_seconds == 90.0
    with pytest.raises(ConfigError, match=r"feed\.stale_seconds"):
        load_settings(overrides=["feed.stale_seconds=-1"], environ={})
    with pytest.raises(ConfigError, match=r"feed\.stale_secs"):
        load_settings(overrides=["feed.stale_secs=1"], environ={})
