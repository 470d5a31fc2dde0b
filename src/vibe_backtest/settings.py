"""Configuration layering for the shells: defaults < YAML file(s) < environment < ``--set``.

The layers are :class:`~vibe_backtest.layers.Layer` values, merged with provenance (which layer,
file or variable set each key) by :mod:`vibe_backtest.layers`.

Values from the environment and ``--set`` are parsed as YAML scalars (``1.5``, ``false``; ``AAPL,MSFT``
and ``14:30`` stay strings: base-60 numbers are not read, here or in the YAML file).
Unknown keys and bad values raise :class:`~vibe_core.config.ConfigError` naming the key.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from vibe_backtest.layers import DEFAULT, Layer, LayerError, build_layers, merge_layers, render_tree
from vibe_core.config import Config, ConfigError, config_from_dict, config_to_dict, one_of, structure_section

__all__ = [
    "ENV_PREFIX",
    "build_config",
    "dotted_layer",
    "environment_layer",
    "file_layer",
    "load_settings",
    "parse_assignment",
    "set_layer",
    "settings_layers",
    "show_settings",
    "SweepSettings",
    "BACKTEST_SECTIONS",
    "sweep_settings",
]

ENV_PREFIX = "VIBE__"
#: the live service's own config sections (``vibe_live.settings``; a test keeps the two in step)
SERVICE_SECTIONS = frozenset({"data", "storage", "api", "notifications", "sync", "features", "service"})
#: the backtester's own sections beside the core's (not the core's ``Config``): where sweeps run
BACKTEST_SECTIONS = frozenset({"sweep"})


def _scheduler(inst: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or "://" not in value):
        raise ConfigError(f"sweep.scheduler: {value!r} is not a scheduler address such as tcp://host:8786")


def _workers(inst: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise ConfigError(f"sweep.workers: {value!r} must be a whole number of at least 1")


@attrs.frozen(kw_only=True)
class SweepSettings:
    """The ``sweep`` section: where sweeps, walk-forward and sensitivity runs go.

    ``backend``: ``auto`` (Dask when installed, else a process pool), ``dask`` or ``pool``;
    ``scheduler``: an existing Dask cluster (``tcp://host:8786``; default a local cluster);
    ``workers``: processes of the local cluster or pool (default: every core).
    """

    section: ClassVar[str] = "sweep."

    backend: str = attrs.field(default="auto", validator=one_of("auto", "dask", "pool"))
    scheduler: str | None = attrs.field(default=None, validator=_scheduler)
    workers: int | None = attrs.field(default=None, validator=_workers)


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """``"strategy.reward_risk=2.5"`` -> ``("strategy.reward_risk", 2.5)``."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{option} {text!r}: expected key.path=value")
    return key.strip(), _scalar(raw.strip())


@functools.cache
def _loader() -> Any:
    """YAML without base-60 numbers: ``14:30`` stays the string a time of day is (not 870).

    Made on first use: yaml is imported only for a config file or a ``--set`` value that is not
    a plain word or number (:func:`_scalar`).
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if kind is yaml.ScalarNode and ":" in value and tag in _SEXAGESIMAL_TAGS:
                return "tag:yaml.org,2002:str"
            return tag

    return _Loader


_SEXAGESIMAL_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # YAML reads a word as itself, but for (PyYAML 1.1):
_TRUE = frozenset({"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_NULL = frozenset({"null", "Null", "NULL"})
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")


def _load(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=_loader())  # a SafeLoader


def _scalar(raw: str) -> Any:
    if _WORD.fullmatch(raw):  # what YAML gives, without importing it
        return True if raw in _TRUE else False if raw in _FALSE else raw  # null: the raw text
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    import yaml

    try:
        value = _load(raw) if raw else ""
    except yaml.YAMLError:
        return raw
    return raw if isinstance(value, (dict, list)) or value is None else value


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = _load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _nest(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Dotted keys to nested dicts (a later key wins)."""

    def nested(dotted: str, value: Any) -> dict[str, Any]:
        for part in reversed(dotted.split(".")[1:]):
            value = {part: value}
        return {dotted.split(".")[0]: value}

    merged, _ = merge_layers(Layer("", nested(k, v)) for k, v in items)
    return merged


def file_layer(path: Path | str) -> Layer:
    """A YAML file's layer, named by its path."""
    return Layer(str(path), _read_yaml(Path(path)))


def environment_layer(environ: Mapping[str, str] | None = None, *, skip: Collection[str] = ()) -> Layer:
    """``VIBE__SECTION__KEY=value`` variables (``os.environ`` by default); each leaf names its variable.

    ``skip``: top-level sections left to another program sharing the prefix (the backtester skips
    :data:`SERVICE_SECTIONS`: ``VIBE__STORAGE__DB`` configures the live service, not a backtest).
    """
    env = os.environ if environ is None else environ
    names = {
        k[len(ENV_PREFIX) :].lower().replace("__", "."): k for k in sorted(env) if k.startswith(ENV_PREFIX)
    }
    if skip:
        names = {key: name for key, name in names.items() if key.split(".", 1)[0] not in skip}
    data = _nest((key, _scalar(env[name])) for key, name in names.items())
    return Layer("environment", data, sources=names)


def set_layer(overrides: Iterable[str], name: str = "--set") -> Layer:
    """``--set key.path=value`` assignments (a later one wins)."""
    return dotted_layer(name, (parse_assignment(o, name) for o in overrides))


def dotted_layer(name: str, items: Iterable[tuple[str, Any]]) -> Layer:
    """A layer from ``(dotted.key, value)`` pairs (a later pair wins)."""
    return Layer(name, _nest(items))


def settings_layers(
    config_files: Path | str | Sequence[Path | str] | None = None,
    overrides: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    base: Mapping[str, Any] | None = None,
) -> list[Layer]:
    """The layers in precedence order: ``base`` < each file < environment < ``--set``."""
    if config_files is None:
        files: Sequence[Path | str] = ()
    elif isinstance(config_files, (str, Path)):
        files = (config_files,)
    else:
        files = config_files
    layers = [Layer(DEFAULT, base)] if base else []
    layers += [file_layer(f) for f in files]
    layers += [environment_layer(environ, skip=SERVICE_SECTIONS), set_layer(overrides)]
    return layers


def _only(layers: Sequence[Layer], keep: bool) -> list[Layer]:
    """The layers with (``keep``) only, or without, the backtester's own sections."""
    return [
        Layer(
            layer.name,
            {k: v for k, v in layer.data.items() if (k in BACKTEST_SECTIONS) == keep},
            layer.sources,
        )
        for layer in layers
    ]


def build_config(layers: Sequence[Layer]) -> tuple[Config, dict[str, str]]:
    """The config the layers give and every set key's origin; refusals name the layer and the key.

    The backtester's own sections (:data:`BACKTEST_SECTIONS`) are left out: :func:`sweep_settings`.
    """
    try:
        return build_layers(_only(layers, False), config_from_dict, dump=config_to_dict, errors=ConfigError)
    except LayerError as exc:
        raise ConfigError(str(exc)) from None


def _build_sweep(merged: dict[str, Any]) -> SweepSettings:
    section = merged.get("sweep", {})
    settings: SweepSettings = structure_section(section, SweepSettings, "sweep")
    return settings


def sweep_settings(layers: Sequence[Layer]) -> tuple[SweepSettings, dict[str, str]]:
    """The ``sweep`` section the layers give (file, ``VIBE__SWEEP__*``, ``--set sweep.*``)."""
    try:
        return build_layers(_only(layers, True), _build_sweep, dump=attrs.asdict, errors=ConfigError)
    except LayerError as exc:
        raise ConfigError(str(exc)) from None


def load_settings(
    config_file: Path | str | Sequence[Path | str] | None = None,
    overrides: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """The merged configuration; every layer's keys are checked against the config tree."""
    config, _ = build_config(settings_layers(config_file, overrides, environ=environ, base=base))
    return config


def show_settings(layers: Sequence[Layer]) -> str:
    """The whole effective config, each value with the layer that set it, secrets masked."""
    config, provenance = build_config(layers)
    sweep, sweep_provenance = sweep_settings(layers)
    tree = {**config_to_dict(config), "sweep": attrs.asdict(sweep)}
    return render_tree(tree, {**provenance, **sweep_provenance})
