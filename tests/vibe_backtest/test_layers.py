"""Config layers with provenance (vibe_backtest.layers, vibe_backtest.settings): merge, blame, show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vibe_backtest.cli import main
from vibe_backtest.layers import (
    DEFAULT,
    MASK,
    Layer,
    LayerError,
    build_layers,
    is_secret,
    leaves,
    merge_layers,
    render_tree,
)
from vibe_backtest.settings import (
    SweepSettings,
    build_config,
    environment_layer,
    file_layer,
    set_layer,
    settings_layers,
    show_settings,
)
from vibe_core.config import Config, ConfigError


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


# --- merge_layers: values and provenance ------------------------------------------------------


def test_later_layers_win_key_by_key_and_provenance_names_the_winner() -> None:
    layers = [
        Layer(DEFAULT, {"seed": 0, "strategy": {"reward_risk": 2.0, "name": "orb"}}),
        Layer("cfg.yaml", {"strategy": {"reward_risk": 1.5, "allow_short": True}}),
        Layer(
            "environment",
            {"strategy": {"reward_risk": 3}},
            {"strategy.reward_risk": "VIBE__STRATEGY__REWARD_RISK"},
        ),
        Layer("--set", {"seed": 5}),
    ]
    merged, provenance = merge_layers(layers)
    assert merged == {"seed": 5, "strategy": {"reward_risk": 3, "name": "orb", "allow_short": True}}
    assert provenance == {
        "seed": "--set",
        "strategy.reward_risk": "VIBE__STRATEGY__REWARD_RISK",
        "strategy.name": DEFAULT,
        "strategy.allow_short": "cfg.yaml",
    }


def test_a_value_replaces_a_section_and_a_section_a_value() -> None:
    merged, provenance = merge_layers(
        [Layer("a", {"s": {"x": 1, "y": 2}}), Layer("b", {"s": 7}), Layer("c", {"s": {"z": 3}})]
    )
    assert merged == {"s": {"z": 3}}
    assert provenance == {"s.z": "c"}
    merged, provenance = merge_layers([Layer("a", {"s": {"x": 1}}), Layer("b", {"s": 7})])
    assert merged == {"s": 7} and provenance == {"s": "b"}


_keys = st.sampled_from(["a", "b", "c"])
_values = st.one_of(st.integers(-3, 3), st.booleans(), st.text("xy", max_size=2))
_trees = st.recursive(
    st.dictionaries(_keys, _values, max_size=3),
    lambda inner: st.dictionaries(_keys, st.one_of(_values, inner), max_size=3),
    max_leaves=8,
)


@given(st.lists(_trees, max_size=4))
def test_merge_equals_setting_every_leaf_in_order(trees: list[dict[str, Any]]) -> None:
    """Reference: a flat {path: (value, layer)} map where a path also removes what is above or below it."""
    flat: dict[tuple[str, ...], tuple[Any, str]] = {}
    for i, tree in enumerate(trees):
        for path, value in leaves(tree):
            for other in list(flat):
                if other[: len(path)] == path or path[: len(other)] == other:
                    del flat[other]
            flat[path] = (value, f"layer{i}")
    merged, provenance = merge_layers(Layer(f"layer{i}", t) for i, t in enumerate(trees))
    assert dict(leaves(merged)) == {p: v for p, (v, _) in flat.items()}
    assert provenance == {".".join(p): name for p, (_, name) in flat.items()}


# --- build_layers: the refusal names the layer and the key -------------------------------------


def test_each_layer_is_named_when_its_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("strategy:\n  reward_risk: lots\n")
    with pytest.raises(ConfigError, match=r"^.*team\.yaml: .*strategy\.reward_risk"):
        build_config(settings_layers(config, environ={}))

    env = {"VIBE__RISK__MAX_OPEN_POSITIONS": "many", "VIBE__SEED": "3"}
    with pytest.raises(ConfigError) as info:
        build_config(settings_layers(None, environ=env))
    assert str(info.value).startswith("environment VIBE__RISK__MAX_OPEN_POSITIONS: ")
    assert "risk.max_open_positions" in str(info.value)

    with pytest.raises(ConfigError, match=r"^--set: .*validation\.enabled"):
        build_config(settings_layers(None, ["validation.enabled=perhaps"], environ={}))

    with pytest.raises(ConfigError, match=r"^default: .*seed"):
        build_config(settings_layers(None, environ={}, base={"seed": "zero"}))


def test_unknown_keys_name_the_layer_the_key_and_the_valid_keys(tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("risk:\n  max_open_position: 2\n")
    with pytest.raises(ConfigError) as info:
        build_config(settings_layers(config, environ={}))
    message = str(info.value)
    assert message.startswith(f"{config}: risk.max_open_position")
    assert "valid here:" in message and "max_open_positions" in message
    with pytest.raises(ConfigError, match=r"^environment VIBE__RISK__NOPE: risk\.nope"):
        build_config(settings_layers(None, environ={"VIBE__RISK__NOPE": "1"}))


def test_the_layer_whose_value_is_in_effect_is_blamed() -> None:
    # the file's bad value is overridden by a good one: no error; a bad one on top: --set is named
    layers = [Layer("f.yaml", {"seed": "x"}), set_layer(["seed=4"])]
    assert build_config(layers)[0].seed == 4
    with pytest.raises(ConfigError, match=r"^--set: .*seed"):
        build_config([Layer("f.yaml", {"seed": 1}), set_layer(["seed=x"])])


def _picky(data: dict[str, Any]) -> dict[str, Any]:
    """A builder like an opened strategy section: the keys allowed depend on ``strategy.name``."""
    strategy = dict(data.get("strategy", {}))
    allowed = {"orb": {"name", "reward_risk"}, "mine": {"name", "stop_pct"}}[strategy.get("name", "orb")]
    extra = set(strategy) - allowed
    if extra:
        raise ValueError(f"strategy.{sorted(extra)[0]}: not a key of {strategy.get('name', 'orb')}")
    return data


def test_a_key_made_valid_by_a_later_layer_is_not_blamed() -> None:
    layers = [
        Layer("f.yaml", {"strategy": {"stop_pct": 0.02}}),
        Layer("--set", {"strategy": {"name": "mine"}}),
    ]
    built, provenance = build_layers(layers, _picky)
    assert built == {"strategy": {"stop_pct": 0.02, "name": "mine"}}
    assert provenance == {"strategy.stop_pct": "f.yaml", "strategy.name": "--set"}
    bad = [
        *layers,
        Layer("environment", {"strategy": {"reward_risk": 3}}, {"strategy.reward_risk": "VIBE__X"}),
    ]
    with pytest.raises(LayerError, match=r"^environment VIBE__X: strategy\.reward_risk: not a key of mine"):
        build_layers(bad, _picky)


# --- rendering and masking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("notifications.discord_webhook_url", True),
        ("data.finnhub_api_key", True),
        ("api.token", True),
        ("sync.secret_access", True),
        ("storage.password", True),
        ("api.key", True),
        ("strategy.reward_risk", False),
        ("symbols", False),
        ("keyboard_layout", True),  # "key" is in the name: masked rather than leaked
    ],
)
def test_is_secret(path: str, secret: bool) -> None:
    assert is_secret(path) is secret


def test_render_tree_shows_provenance_and_masks_secrets() -> None:
    tree = {
        "seed": 3,
        "api": {"api_key": "sk-live-123", "port": 8000, "empty_token": ""},
        "notifications": {"discord_webhook_url": "https://discord.com/api/webhooks/1/abc"},
    }
    provenance = {"seed": "--set", "api.api_key": "VIBE__API__API_KEY"}
    text = render_tree(tree, provenance)
    assert "sk-live-123" not in text and "webhooks/1/abc" not in text
    lines = {line.split(":")[0].strip(): line for line in text.splitlines()}
    assert lines["api_key"].split("#")[0].strip() == f"api_key: {MASK}"
    assert lines["api_key"].endswith("# VIBE__API__API_KEY")
    assert lines["discord_webhook_url"].split("#")[0].strip() == f"discord_webhook_url: {MASK}"
    assert lines["empty_token"].split("#")[0].strip() == "empty_token: ''"  # nothing to hide
    assert lines["seed"].endswith("# --set") and lines["port"].endswith("# default")
    assert lines["api"] == "api:"  # a section has no origin of its own


def test_show_settings_lists_every_key_with_its_layer(tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("strategy:\n  reward_risk: 1.5\n  allow_short: true\n")
    text = show_settings(
        [file_layer(config), environment_layer({"VIBE__SEED": "9"}), set_layer(["strategy.reward_risk=3"])]
    )
    origin = {}
    for line in text.splitlines():
        if "#" in line:
            key_value, where = line.rsplit("# ", 1)
            origin[key_value.split(":")[0].strip()] = (key_value.split(":", 1)[1].strip(), where)
    assert origin["reward_risk"] == ("3.0", "--set")
    assert origin["allow_short"] == ("true", str(config))
    assert origin["seed"] == ("9", "VIBE__SEED")
    assert origin["initial_capital"] == ("10000.0", "default")
    shown = sum(1 for line in text.splitlines() if "# " in line)  # (leaf names repeat across sections)
    sweep = attrs.asdict(SweepSettings())  # the backtester's own section, shown after the core's
    assert shown == sum(1 for _ in leaves(_config_dict())) + len(sweep)  # every leaf is shown


def _config_dict() -> dict[str, Any]:
    from vibe_core.config import config_to_dict

    return config_to_dict(Config())


def test_config_show_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("exchange:\n  preset: pessimistic\n")
    monkeypatch.setenv("VIBE__RISK__MAX_OPEN_POSITIONS", "2")
    assert main(["config", "show", "--config", str(config), "--set", "seed=11"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.strip().startswith("preset: pessimistic") and line.endswith(f"# {config}") for line in lines
    )
    assert any(
        line.strip().startswith("max_open_positions: 2") and line.endswith("# VIBE__RISK__MAX_OPEN_POSITIONS")
        for line in lines
    )
    assert any(line.startswith("seed: 11") and line.endswith("# --set") for line in lines)
    monkeypatch.setenv("VIBE__RISK__MAX_OPEN_POSITIONS", "two")
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vibe-backtest: error: environment VIBE__RISK__MAX_OPEN_POSITIONS")
    assert "Traceback" not in err
