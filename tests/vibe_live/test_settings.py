"""The service's settings: every layer in its place, provenance, masking, features mapped onto the core,
and a bad key refused with its path and the layer it came from, in each layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_core.config import ConfigError
from vibe_live.settings import load_service_settings, service_layers, show_service_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def cwd(tmp_path):
    write(tmp_path / "config" / "local.yaml", "storage:\n  snapshot_every: 111\napi:\n  port: 1111\n")
    write(tmp_path / "config" / "dev.yaml", "api:\n  port: 2222\n")
    return tmp_path


def load(cwd, files=(), sets=(), environ=None, env=None):
    return load_service_settings(files, sets, env=env, environ=environ or {}, cwd=cwd)


def test_defaults_without_any_file(tmp_path):
    settings, provenance = load(tmp_path)
    assert settings.storage.db == "var/vibe.db"
    assert settings.service.close_positions_on_shutdown is True
    assert settings.core.symbols == ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
    assert provenance == {}


def test_each_layer_wins_over_the_one_below(cwd):
    extra = write(cwd / "extra.yaml", "api:\n  port: 3333\n  host: 0.0.0.0\nsync:\n  every_minutes: 5\n")
    write(cwd / ".env", "VIBE__SYNC__EVERY_MINUTES=6\nVIBE__API__HOST=h.env\nOTHER=1\n")
    environ = {"VIBE__API__HOST": "h.environ", "TRADING_ENV": "dev", "VIBE__SEED": "5"}
    settings, provenance = load(cwd, [extra], ["seed=9"], environ)
    assert settings.api.port == 3333 and provenance["api.port"] == str(extra)  # --config over config/dev.yaml
    assert (
        settings.sync.every_minutes == 6 and provenance["sync.every_minutes"] == "VIBE__SYNC__EVERY_MINUTES"
    )
    assert settings.api.host == "h.environ" and provenance["api.host"] == "VIBE__API__HOST"
    assert settings.core.seed == 9 and provenance["seed"] == "--set"
    assert settings.storage.snapshot_every == 20_000  # local.yaml is not read in dev

    settings, provenance = load(cwd)  # local by default
    assert (
        settings.storage.snapshot_every == 111 and provenance["storage.snapshot_every"] == "config/local.yaml"
    )
    settings, _ = load(cwd, env="dev", environ={"TRADING_ENV": "local"})  # --env over TRADING_ENV
    assert settings.api.port == 2222


def test_a_missing_env_file_is_an_error_except_for_local(tmp_path):
    load(tmp_path)
    with pytest.raises(ConfigError, match=r"config/prod.yaml.*not found"):
        load(tmp_path, env="prod")
    with pytest.raises(ConfigError, match="TRADING_ENV 'staging'"):
        load(tmp_path, environ={"TRADING_ENV": "staging"})


def test_features_map_onto_the_core_when_set(tmp_path):
    settings, provenance = load(tmp_path)
    assert settings.core.validation.enabled and not settings.core.strategy.allow_short
    sets = [
        "features.enable_mtf_validation=false",
        "features.allow_short_selling=true",
        "features.enable_risk_management=false",
    ]
    settings, provenance = load(tmp_path, sets=sets)
    assert settings.core.validation.enabled is False
    assert settings.core.strategy.allow_short is True
    assert settings.core.risk.daily_loss_halt_pct == 1.0
    assert provenance["validation.enabled"] == "features.enable_mtf_validation (--set)"


def test_show_prints_every_value_with_its_layer_and_masks_secrets(cwd):
    environ = {
        "FINNHUB_API_KEY": "fh-secret",
        "VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL": "https://hook/secret",
    }
    settings, provenance = load(cwd, sets=["storage.db=x.db"], environ=environ)
    text = show_service_settings(settings, provenance)
    assert "secret" not in text
    lines = {line.split(":")[0].strip(): line for line in text.splitlines()}
    assert lines["finnhub_api_key"].endswith("# FINNHUB_API_KEY") and "****" in lines["finnhub_api_key"]
    assert "****" in lines["discord_webhook_url"]
    assert lines["db"].endswith("# --set")
    assert lines["snapshot_every"].endswith("# config/local.yaml")
    assert lines["initial_capital"].endswith("# default")
    for section in ("data:", "storage:", "api:", "notifications:", "sync:", "features:", "service:", "risk:"):
        assert section in text


def test_the_vibe_form_of_the_finnhub_key_wins(tmp_path):
    environ = {"FINNHUB_API_KEY": "a", "VIBE__DATA__FINNHUB_API_KEY": "b"}
    settings, provenance = load(tmp_path, environ=environ)
    assert settings.data.finnhub_api_key == "b"
    assert provenance["data.finnhub_api_key"] == "VIBE__DATA__FINNHUB_API_KEY"


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("env_file", r"config/local.yaml: storage.nope: unknown key"),
        ("config", r"extra.yaml: invalid value .*api.port"),
        ("dotenv", r".env VIBE__SERVICE__QUEUE_SIZE: .*service.queue_size"),
        ("environ", r"environment VIBE__FEATURES__ENABLE_CLOUD_SYNC: .*features.enable_cloud_sync"),
        ("set", r"--set: sync.bogus: unknown key"),
        ("core", r"--set: .*risk.max_open: unknown key"),
        ("secret", r"extra.yaml: api.api_key is a secret; set it in the environment \(VIBE__API__API_KEY\)"),
    ],
)
def test_a_bad_key_names_its_path_and_layer(tmp_path, layer, message):
    files, sets, environ = [], [], {}
    if layer == "env_file":
        write(tmp_path / "config" / "local.yaml", "storage:\n  nope: 1\n")
    elif layer == "config":
        files = [write(tmp_path / "extra.yaml", "api:\n  port: eighty\n")]
    elif layer == "dotenv":
        write(tmp_path / ".env", "VIBE__SERVICE__QUEUE_SIZE=lots\n")
    elif layer == "environ":
        environ = {"VIBE__FEATURES__ENABLE_CLOUD_SYNC": "maybe"}
    elif layer == "set":
        sets = ["sync.bogus=1"]
    elif layer == "core":
        sets = ["risk.max_open=1"]
    else:
        files = [write(tmp_path / "extra.yaml", "api:\n  api_key: k\n")]
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, files, sets, environ)


def test_layers_are_in_precedence_order(cwd):
    write(cwd / ".env", "VIBE__SEED=1\n")
    names = [layer.name for layer in service_layers([], ["seed=2"], environ={}, cwd=cwd)]
    assert names == ["config/local.yaml", ".env", "environment", "--set"]


def test_the_backtester_leaves_the_service_sections_of_the_environment_alone():
    """``VIBE__STORAGE__DB`` set for the service must not break ``vibe-backtest`` (a shared prefix)."""
    import attrs

    from vibe_backtest.settings import SERVICE_SECTIONS, load_settings
    from vibe_live.settings import Settings

    assert {f.name for f in attrs.fields(Settings)} - {"core"} == SERVICE_SECTIONS
    environ = {"VIBE__STORAGE__DB": "var/x.db", "VIBE__FEATURES__ENABLE_MTF_VALIDATION": "false",
               "VIBE__STRATEGY__REWARD_RISK": "3"}  # fmt: skip
    config = load_settings(environ=environ)
    assert config.strategy.reward_risk == 3  # (the core's own variables still count)
    with pytest.raises(ConfigError, match="nope"):
        load_settings(environ={"VIBE__NOPE__X": "1"})  # a typo is still an error


def test_the_service_leaves_the_backtesters_sections_of_the_environment_alone(tmp_path):
    """``VIBE__SWEEP__WORKERS`` set for ``vibe-backtest sweep`` must not break ``vibe-live``."""
    from vibe_live.settings import load_service_settings

    environ = {"VIBE__SWEEP__WORKERS": "2", "VIBE__STORAGE__DB": "x.db"}
    settings, _ = load_service_settings(environ=environ, cwd=tmp_path)
    assert settings.storage.db == "x.db"
    with pytest.raises(ConfigError, match="nope"):
        load_service_settings(environ={"VIBE__NOPE__X": "1"}, cwd=tmp_path)


def test_data_stale_seconds_is_the_feed_gates_threshold(tmp_path):
    settings, provenance = load(tmp_path)
    assert settings.core.feed.stale_seconds == settings.data.stale_seconds == 120.0
    settings, provenance = load(tmp_path, environ={"VIBE__DATA__STALE_SECONDS": "45"})
    assert settings.core.feed.stale_seconds == settings.data.stale_seconds == 45.0
    assert provenance["feed.stale_seconds"] == "data.stale_seconds (VIBE__DATA__STALE_SECONDS)"
    # the core's own key works too, and the data section then shows the value in force
    settings, provenance = load(tmp_path, sets=["feed.stale_seconds=30"])
    assert settings.core.feed.stale_seconds == settings.data.stale_seconds == 30.0
    assert provenance["data.stale_seconds"] == "feed.stale_seconds (--set)"
    # both set: the service's key wins wherever it comes from
    settings, _ = load(tmp_path, sets=["data.stale_seconds=60", "feed.stale_seconds=30"])
    assert settings.core.feed.stale_seconds == 60.0
    with pytest.raises(ConfigError, match=r"data\.stale_seconds"):
        load(tmp_path, sets=["data.stale_seconds=0"])
