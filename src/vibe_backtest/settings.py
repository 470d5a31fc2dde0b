"""Configuration layering for the shells: YAML file < environment ``VIBE__SECTION__KEY`` < ``--set``.

Values from the environment and ``--set`` are parsed as YAML scalars (``1.5``, ``false``; ``AAPL,MSFT``
and ``14:30`` stay strings: base-60 numbers are not read, here or in the YAML file).
Unknown keys and bad values raise :class:`~vibe_core.config.ConfigError` naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from vibe_core.config import Config, ConfigError, config_from_dict, set_path

__all__ = ["load_settings", "parse_assignment", "ENV_PREFIX"]

ENV_PREFIX = "VIBE__"


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"strategy.reward_risk=2.5"`` -> ``("strategy.reward_risk", 2.5)``."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key.path=value")
    return key.strip(), _scalar(raw.strip())


class _Loader(yaml.SafeLoader):
    """YAML without base-60 numbers: ``14:30`` stays the string a time of day is (not 870)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and ":" in value and tag in _SEXAGESIMAL_TAGS:
            return "tag:yaml.org,2002:str"
        return tag


_SEXAGESIMAL_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader


def _scalar(raw: str) -> Any:
    try:
        value = _load(raw) if raw else ""
    except yaml.YAMLError:
        return raw
    return raw if isinstance(value, (dict, list)) or value is None else value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = _load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, path + ".")
        else:
            yield path, value


def load_settings(
    config_file: Path | str | None = None,
    overrides: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """The merged configuration; every layer's keys are checked against the config tree."""
    data: dict[str, Any] = {}
    layers: list[tuple[str, Iterable[tuple[str, Any]]]] = []
    if base:
        layers.append(("defaults", _flatten(base)))
    if config_file is not None:
        path = Path(config_file)
        layers.append((str(path), list(_flatten(_read_yaml(path)))))
    env = os.environ if environ is None else environ
    env_items = [
        (k[len(ENV_PREFIX) :].lower().replace("__", "."), _scalar(v))
        for k, v in sorted(env.items())
        if k.startswith(ENV_PREFIX)
    ]
    layers.append(("environment", env_items))
    layers.append(("--set", [parse_assignment(o) for o in overrides]))
    for origin, layer in layers:
        for key, value in layer:
            try:
                set_path(data, key, value)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}") from None
    return config_from_dict(data)
