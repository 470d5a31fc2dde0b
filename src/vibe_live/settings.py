"""The live service's settings: one attrs tree (the core's ``Config`` plus the service's sections).

Layers, later wins key by key (:mod:`vibe_backtest.layers` does the merging and the provenance):
defaults in code < ``config/{env}.yaml`` (``--env`` or ``TRADING_ENV``; ``local`` by default, and
only ``local`` may lack its file) < ``--config FILE`` (repeatable) < ``.env`` in the working
directory < the environment (``VIBE__SECTION__KEY``) < ``--set key.path=value``.

The tree's dict form is the core's keys at the top (``symbols``, ``strategy``, ``risk``, ...) plus
the sections ``data``, ``storage``, ``api``, ``notifications``, ``sync``, ``features`` and
``service``. Unknown or ill-typed keys raise :class:`~vibe_core.config.ConfigError` naming the key
and the layer that brought it. Secrets (keys whose name holds key, token, secret, webhook or
password) are accepted only from the environment or ``.env``; the Finnhub key is read from
``FINNHUB_API_KEY`` or ``VIBE__DATA__FINNHUB_API_KEY`` (the latter wins).

Feature flags map onto the core when a layer sets them (left at their default they change
nothing): ``enable_mtf_validation`` -> ``validation.enabled``; ``allow_short_selling`` ->
``strategy.allow_short``; ``enable_risk_management: false`` -> ``risk.daily_loss_halt_pct: 1.0``
(no daily halt; sizing limits stay). Likewise ``data.stale_seconds`` -> ``feed.stale_seconds`` (the
feed gate's threshold); left unset it shows the core's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from vibe_backtest.layers import Layer, LayerError, build_layers, is_secret, render_tree
from vibe_backtest.settings import BACKTEST_SECTIONS, environment_layer, file_layer, set_layer
from vibe_core.codec import unstructure
from vibe_core.config import (
    Config,
    ConfigError,
    config_from_dict,
    config_to_dict,
    non_negative,
    one_of,
    positive,
    structure_section,
)

__all__ = [
    "ENVS",
    "FINNHUB_ENV",
    "Settings",
    "DataSettings",
    "StorageSettings",
    "ApiSettings",
    "NotificationSettings",
    "SyncSettings",
    "FeatureSettings",
    "ServiceSettings",
    "service_layers",
    "load_service_settings",
    "show_service_settings",
    "settings_to_dict",
]

ENVS = ("local", "dev", "prod")
FINNHUB_ENV = "FINNHUB_API_KEY"
_FINNHUB_PATH = "data.finnhub_api_key"
_ENV_LAYERS = ("environment", ".env")


@attrs.frozen(kw_only=True)
class DataSettings:
    """Market data: the Finnhub stream and the built-in sample market for replays."""

    section: ClassVar[str] = "data."

    finnhub_api_key: str = ""  #: only from the environment: FINNHUB_API_KEY or VIBE__DATA__FINNHUB_API_KEY
    finnhub_url: str = "wss://ws.finnhub.io"
    sample_sessions: int = attrs.field(default=60, validator=positive)  #: --replay sample: sessions
    sample_end: str = "2024-07-26"  #: --replay sample: last session on or before this date
    sample_seed: int = 7
    #: a wall-clock replay plays its first N sessions as fast as possible (indicator warm-up), then paces
    replay_warmup_sessions: int = attrs.field(default=5, validator=non_negative)
    #: live: feed the indicators enough Yahoo history (from the Parquet cache) before the first print
    warmup: bool = True
    cache_dir: str = ""  #: the Yahoo Parquet cache and archive ("": the backtester's, $VIBE_CACHE_DIR/yahoo)
    archive: bool = True  #: after each close, append the day's own 5m bars to the archive
    #: a symbol silent (or the feed down) this long in a session: fetch the missing 5m bars (0: never)
    backfill_after_seconds: int = attrs.field(default=300, validator=non_negative)
    yahoo_timeout_s: float = attrs.field(default=30.0, validator=positive)  #: one Yahoo attempt at most
    yahoo_retries: int = attrs.field(default=3, validator=positive)  #: attempts before going on without
    yahoo_backoff_s: float = attrs.field(default=2.0, validator=non_negative)  #: doubled after each failure
    #: a symbol silent this long while others trade is stale (no entry); written onto the core's
    #: ``feed.stale_seconds`` when a layer sets it (it then wins), else it shows the core's value
    stale_seconds: float = attrs.field(default=120.0, validator=positive)
    #: Finnhub: more symbols than this are refused up front (a free key's per-connection limit)
    max_symbols: int = attrs.field(default=50, validator=positive)
    #: Finnhub: nothing (print or ping) for this long -> close and reconnect
    watchdog_seconds: float = attrs.field(default=150.0, validator=positive)
    #: Finnhub reconnects: full-jitter exponential backoff, base * 2**attempt capped at cap
    reconnect_base_seconds: float = attrs.field(default=1.0, validator=positive)
    reconnect_cap_seconds: float = attrs.field(default=60.0, validator=positive)
    #: Finnhub answered 401 (a bad key): wait this long before trying again
    auth_backoff_seconds: float = attrs.field(default=300.0, validator=positive)


@attrs.frozen(kw_only=True)
class StorageSettings:
    section: ClassVar[str] = "storage."

    db: str = "var/vibe.db"
    snapshot_every: int = attrs.field(default=20_000, validator=positive)  #: events between snapshots
    durability: str = attrs.field(default="normal", validator=one_of("normal", "full"))


@attrs.frozen(kw_only=True)
class ApiSettings:
    section: ClassVar[str] = "api."

    host: str = "127.0.0.1"
    port: int = attrs.field(default=8080, validator=non_negative)  #: 0: any free port (in the log)
    api_key: str = ""  #: operator commands need it; only from the environment (VIBE__API__API_KEY)
    enable_auth: bool = False  #: the key on every route but /health/live (on in the prod config)
    cors_origins: tuple[str, ...] = ()  #: browser origins allowed to call the API (e.g. the dashboard's)
    ws_buffer: int = attrs.field(
        default=1000, validator=positive
    )  #: messages a WS client may lag, then dropped


@attrs.frozen(kw_only=True)
class NotificationSettings:
    section: ClassVar[str] = "notifications."

    discord_webhook_url: str = ""  #: only from the environment (VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL)
    min_severity: str = attrs.field(default="info", validator=one_of("info", "warning", "critical"))
    enabled: bool = True  #: off: nothing is sent or queued (features.enable_notifications too)
    dashboard_url: str = ""  #: linked from the daily summary
    coalesce_ms: int = attrs.field(default=2000, validator=non_negative)  #: a burst -> one message (0: none)
    rate_limit: int = attrs.field(default=5, validator=positive)  #: at most this many requests ...
    rate_period_s: float = attrs.field(default=2.0, validator=positive)  #: ... in any window this long
    backoff_max_s: float = attrs.field(default=60.0, validator=positive)  #: 5xx/network: jittered, capped
    drain_grace_s: float = attrs.field(default=4.0, validator=non_negative)  #: shutdown: send what is left
    feed_down_critical_minutes: float = attrs.field(default=5.0, validator=positive)
    send_service: bool = True  #: service start/stop, fatal errors
    send_fills: bool = True
    send_trades: bool = True
    send_vetoes: bool = False  #: every vetoed signal (chatty)
    send_halts: bool = True
    send_feed: bool = True  #: feed down/up and gaps
    send_summary: bool = True  #: the daily summary after the close
    send_errors: bool = True  #: rejected input, rejected orders
    send_notices: bool = True  #: the core's other Notify actions (pause, resume, close all)


@attrs.frozen(kw_only=True)
class SyncSettings:
    section: ClassVar[str] = "sync."

    url: str = "file://var/backups"  #: an fsspec URL the DB's copies go to (file://, s3://, gs://, az://)
    every_minutes: float = attrs.field(default=5.0, validator=positive)  #: and one more at shutdown
    keep: int = attrs.field(default=12, validator=positive)  #: the last N copies are kept, older deleted
    endpoint_url: str = ""  #: s3:// only: an S3-compatible store (Oracle Object Storage, MinIO, ...)
    retries: int = attrs.field(default=3, validator=non_negative)  #: upload retries per copy
    retry_backoff_s: float = attrs.field(default=2.0, validator=positive)  #: first retry's wait, doubling
    timeout_s: float = attrs.field(default=120.0, validator=positive)  #: one upload attempt at most


@attrs.frozen(kw_only=True)
class FeatureSettings:
    section: ClassVar[str] = "features."

    enable_dashboard_api: bool = True
    enable_health_checks: bool = True
    enable_cloud_sync: bool = False
    enable_notifications: bool = False
    enable_mtf_validation: bool = True
    enable_risk_management: bool = True
    allow_short_selling: bool = False


@attrs.frozen(kw_only=True)
class ServiceSettings:
    section: ClassVar[str] = "service."

    close_positions_on_shutdown: bool = True  #: SIGTERM/SIGINT flatten through a logged CloseAll
    shutdown_timeout_s: float = attrs.field(default=10.0, validator=positive)
    clock_grace_ms: int = attrs.field(default=250, validator=non_negative)  #: wall clock: late-print grace
    queue_size: int = attrs.field(default=64, validator=positive)  #: frames buffered between tasks
    #: a fast replay commits up to this many frames together when no Clock can fall between them (1: each)
    max_batch: int = attrs.field(default=64, validator=positive)


_SECTIONS: dict[str, type[Any]] = {
    "data": DataSettings,
    "storage": StorageSettings,
    "api": ApiSettings,
    "notifications": NotificationSettings,
    "sync": SyncSettings,
    "features": FeatureSettings,
    "service": ServiceSettings,
}


@attrs.frozen(kw_only=True)
class Settings:
    """The whole service: ``core`` is what the engine runs; the rest is the shell's."""

    core: Config = attrs.Factory(Config)
    data: DataSettings = DataSettings()
    storage: StorageSettings = StorageSettings()
    api: ApiSettings = ApiSettings()
    notifications: NotificationSettings = NotificationSettings()
    sync: SyncSettings = SyncSettings()
    features: FeatureSettings = FeatureSettings()
    service: ServiceSettings = ServiceSettings()


def _apply_features(core: dict[str, Any], features: Mapping[str, Any]) -> None:
    """The flags a layer set, written onto the core's keys (see the module docstring)."""
    flags = structure_section(dict(features), FeatureSettings, "features")
    if "enable_mtf_validation" in features:
        core.setdefault("validation", {})["enabled"] = flags.enable_mtf_validation
    if "allow_short_selling" in features:
        core.setdefault("strategy", {})["allow_short"] = flags.allow_short_selling
    if "enable_risk_management" in features and not flags.enable_risk_management:
        core.setdefault("risk", {})["daily_loss_halt_pct"] = 1.0


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def build_settings(merged: Mapping[str, Any]) -> Settings:
    """The tree from a merged dict; unknown or ill-typed keys raise :class:`ConfigError` naming them."""
    core = _copy(merged)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        data = core.pop(name, {})
        if not isinstance(data, Mapping):
            raise ConfigError(f"{name}: expected a mapping of keys, got {data!r}")
        sections[name] = structure_section(dict(data), cls, name)
        if name == "features":
            _apply_features(core, data)
        if name == "data" and "stale_seconds" in data:
            core.setdefault("feed", {})["stale_seconds"] = sections["data"].stale_seconds
    config = config_from_dict(core)
    if config.feed.stale_seconds != sections["data"].stale_seconds:  # (unset: show the core's)
        sections["data"] = attrs.evolve(sections["data"], stale_seconds=config.feed.stale_seconds)
    return Settings(core=config, **sections)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """The tree as one nested dict: the core's keys, then the service's sections."""
    out = config_to_dict(settings.core)
    for name in _SECTIONS:
        out[name] = unstructure(getattr(settings, name))
    return out


def _dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (``export`` and quotes allowed; ``#`` comments)."""
    out: dict[str, str] = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return out
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE, got {raw.strip()!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _env_layer(name: str, environ: Mapping[str, str]) -> Layer:
    """``VIBE__SECTION__KEY`` variables plus ``FINNHUB_API_KEY`` (as ``data.finnhub_api_key``)."""
    layer = environment_layer(environ, skip=BACKTEST_SECTIONS)  # VIBE__SWEEP__* is the backtester's
    key = environ.get(FINNHUB_ENV)
    data, sources = _copy(layer.data), dict(layer.sources)
    if key is not None and _FINNHUB_PATH not in sources:
        data.setdefault("data", {})["finnhub_api_key"] = key
        sources[_FINNHUB_PATH] = FINNHUB_ENV
    return Layer(name, data, sources=sources)


def pick_env(env: str | None, environ: Mapping[str, str]) -> str:
    """``--env``, else ``TRADING_ENV``, else ``local``; anything else is refused."""
    chosen = env or environ.get("TRADING_ENV") or "local"
    if chosen not in ENVS:
        origin = "--env" if env else "TRADING_ENV"
        raise ConfigError(f"{origin} {chosen!r}: expected one of {', '.join(ENVS)}")
    return chosen


def service_layers(
    config_files: Sequence[Path | str] = (),
    overrides: Sequence[str] = (),
    *,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[Layer]:
    """The layers in precedence order (see the module docstring)."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    chosen = pick_env(env, environ)
    layers: list[Layer] = []
    env_file = cwd / "config" / f"{chosen}.yaml"
    if env_file.is_file():
        layers.append(_relative(file_layer(env_file), cwd))
    elif chosen != "local":
        raise ConfigError(f"{env_file}: config file for environment {chosen!r} not found")
    layers += [file_layer(f) for f in config_files]
    dotenv = {k: v for k, v in _dotenv(cwd / ".env").items() if k.startswith("VIBE__") or k == FINNHUB_ENV}
    if dotenv:
        layers.append(_env_layer(".env", dotenv))
    layers.append(_env_layer("environment", environ))
    layers.append(set_layer(overrides))
    return layers


def _relative(layer: Layer, cwd: Path) -> Layer:
    try:
        name = str(Path(layer.name).relative_to(cwd))
    except ValueError:
        return layer
    return Layer(name, layer.data, sources=layer.sources)


def _check_secrets(layers: Sequence[Layer]) -> None:
    """Secrets only from the environment: a key, token or webhook in a file or --set is refused."""
    for layer in layers:
        if layer.name in _ENV_LAYERS:
            continue
        for path in _secret_paths(layer.data):
            raise ConfigError(
                f"{layer.describe(path)}: {path} is a secret; set it in the environment "
                f"(VIBE__{path.upper().replace('.', '__')}) or .env, never in a file or --set"
            )


def _secret_paths(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _secret_paths(value, path + ".")
        elif is_secret(path):
            out.append(path)
    return out


def resolve_settings(layers: Sequence[Layer]) -> tuple[Settings, dict[str, str]]:
    """The tree and every set key's origin; refusals name the layer and the key."""
    _check_secrets(layers)
    try:
        settings, provenance = build_layers(layers, build_settings, errors=ConfigError)
    except LayerError as exc:
        raise ConfigError(str(exc)) from None
    features = {p.split(".", 1)[1]: o for p, o in provenance.items() if p.startswith("features.")}
    mapped = {
        "enable_mtf_validation": ["validation.enabled"],
        "allow_short_selling": ["strategy.allow_short"],
        "enable_risk_management": []
        if settings.features.enable_risk_management
        else ["risk.daily_loss_halt_pct"],
    }
    for flag, origin in features.items():
        for path in mapped.get(flag, []):
            provenance[path] = f"features.{flag} ({origin})"
    if "data.stale_seconds" in provenance:
        provenance["feed.stale_seconds"] = f"data.stale_seconds ({provenance['data.stale_seconds']})"
    elif "feed.stale_seconds" in provenance:
        provenance["data.stale_seconds"] = f"feed.stale_seconds ({provenance['feed.stale_seconds']})"
    return settings, provenance


def load_service_settings(
    config_files: Sequence[Path | str] = (),
    overrides: Sequence[str] = (),
    *,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Settings, dict[str, str]]:
    """The merged settings and their provenance (``vibe-live run`` and ``config show``)."""
    layers = service_layers(config_files, overrides, env=env, environ=environ, cwd=cwd)
    return resolve_settings(layers)


def show_service_settings(settings: Settings, provenance: Mapping[str, str]) -> str:
    """The whole tree, each value with the layer that set it (``default`` when none), secrets masked."""
    return render_tree(settings_to_dict(settings), provenance)
