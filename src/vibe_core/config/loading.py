"""Loading the configuration: nested dicts -> :class:`~vibe_core.config.sections.Config` and back.

State: the module's strict cattrs converter (built once at import; no state after that).
Consumes: plain nested dicts (the shells' merged YAML, environment and ``--set`` layers), dotted
keys with values (:func:`set_path`).
Emits: :class:`Config` values; JSON-safe dicts (:func:`config_to_dict`); :class:`ConfigError`
naming the first unknown or ill-typed key.
Invariants: ``config_from_dict(config_to_dict(c)) == c``; an unknown key is always an error;
strings (environment, ``--set``) are parsed as the field's type, but a bool is never a number and
a float with a fraction never an int; symbols are upper-cased (a comma list is allowed); an open
section (``strategy``, ``validation``) is structured by the class its contents pick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from vibe_core.config.exchange import ExchangeConfig
from vibe_core.config.fields import ConfigError
from vibe_core.config.sections import (
    Config,
    FeedConfig,
    RiskConfig,
    RuleConfig,
    StrategyConfig,
    ValidationConfig,
    _rule_types,
    strategy_config_class,
)

__all__ = ["config_from_dict", "config_to_dict", "structure_section", "set_path", "converter"]


def _strict_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)

    def _bool(value: Any, _t: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise ValueError(f"expected a boolean, got {value!r}")

    def _int(value: Any, _t: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)

    def _float(value: Any, _t: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)

    def _str(value: Any, _t: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value

    def _symbols(value: Any, _t: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [s for s in value.split(",") if s.strip()]
        return tuple(str(s).strip().upper() for s in value)

    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _symbols)
    # the open sections: the class that validates them is known only from their contents
    conv.register_structure_hook_func(lambda t: t is StrategyConfig, _structure_strategy)
    conv.register_structure_hook_func(lambda t: t == tuple[StrategyConfig, ...], _structure_strategies)
    conv.register_structure_hook_func(lambda t: t is ValidationConfig, structure_validation)

    def _unstructure_strategy(config: StrategyConfig) -> dict[str, Any]:
        return {"name": config.name, **conv.unstructure(config, unstructure_as=type(config))}

    conv.register_unstructure_hook_func(lambda t: t is StrategyConfig, _unstructure_strategy)
    conv.register_unstructure_hook(ValidationConfig, lambda c: c.flat())
    return conv


def structure_section(data: Any, cls: type[Any], path: str) -> Any:
    """``data`` as ``cls``; errors name the key below ``path`` (``strategy.stop_pct``)."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of keys, got {data!r}")
    _check_keys(data, cls, f"{path}.")
    try:
        return converter.structure(dict(data), cls)
    except ConfigError:
        raise
    except Exception as exc:
        inner = _find_config_error(exc)
        if inner is not None:
            raise inner from None
        if isinstance(exc, cattrs.BaseValidationError):
            raise ConfigError("; ".join(cattrs.transform_error(exc, path=path))) from None
        raise ConfigError(f"{path}: {exc}") from None


def _check_strategy_key(data: Mapping[str, Any], key: str, value: Any) -> None:
    if key == "name":
        if isinstance(value, str):
            strategy_config_class(value)  # an unknown name or a failed import: named here
        return
    section = data.get("strategy")
    name = section.get("name", "orb") if isinstance(section, Mapping) else "orb"
    if not isinstance(name, str):
        return  # (config_from_dict names it)
    names = sorted(f.name for f in attrs.fields(strategy_config_class(name)))
    if key not in names and not _registered_key(key):  # (a registered one's: the name may come later)
        raise ConfigError(
            f"unknown config key 'strategy.{key}' for strategy {name!r} (valid here: {', '.join(names)}; "
            "strategy.name comes first)"
        )


def _registered_key(key: str) -> bool:
    from vibe_core.strategy.registry import registered, strategy_type

    return any(key in attrs.fields_dict(strategy_type(n).config_class) for n in registered())


def _check_keys(data: Mapping[str, Any], cls: type[Any], prefix: str) -> None:
    names = sorted(f.name for f in attrs.fields(cls))
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (valid here: {', '.join(names)})")


def _structure_strategy(data: Any, _t: Any, path: str = "strategy") -> StrategyConfig:
    if isinstance(data, StrategyConfig):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of keys, got {data!r}")
    name = data.get("name", "orb")
    if not isinstance(name, str):
        raise ConfigError(f"{path}.name: expected a string, got {name!r}")
    try:
        config_class = strategy_config_class(name)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("strategy.name", f"{path}.name", 1)) from None
    config: StrategyConfig = structure_section({**data, "name": name}, config_class, path)
    return config


def _structure_strategies(data: Any, _t: Any) -> tuple[StrategyConfig, ...]:
    path = "strategy.strategies"
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, list | tuple):
        raise ConfigError(f"{path}: expected a list of strategy sections, got {data!r}")
    return tuple(_structure_strategy(leg, None, f"{path}[{i}]") for i, leg in enumerate(data))


def structure_validation(data: Any, _t: Any) -> ValidationConfig:
    if isinstance(data, ValidationConfig):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"validation: expected a mapping of keys, got {data!r}")
    rest = dict(data)
    enabled = structure_section({"enabled": rest.pop("enabled", True)}, RuleConfig, "validation").enabled
    rules = []
    for name, rule in _rule_types().items():
        keys = {f.name for f in attrs.fields(rule.config_class)} - {"enabled"}
        own = {key: rest.pop(key) for key in sorted(keys & rest.keys())}
        if name in rest:
            own["enabled"] = rest.pop(name)
        try:
            rules.append((name, structure_section(own, rule.config_class, "validation")))
        except ConfigError as exc:  # the rule's switch is its own name in the section
            raise ConfigError(str(exc).replace("validation.enabled", f"validation.{name}")) from None
    if rest:
        valid = sorted(ValidationConfig(rules=tuple(rules)).flat())
        raise ConfigError(f"validation.{sorted(rest)[0]}: unknown key (valid here: {', '.join(valid)})")
    return ValidationConfig(enabled=enabled, rules=tuple(rules))


converter = _strict_converter()


def config_from_dict(data: dict[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from nested dicts; unknown or ill-typed keys raise :class:`ConfigError`."""
    _check_keys(data or {}, Config, "")
    for name, cls in (("risk", RiskConfig), ("exchange", ExchangeConfig), ("feed", FeedConfig)):
        section = (data or {}).get(name)
        if isinstance(section, Mapping):
            _check_keys(section, cls, f"{name}.")
    try:
        return converter.structure(data or {}, Config)
    except ConfigError:
        raise
    except Exception as exc:  # cattrs groups every problem with its path
        messages = (
            cattrs.transform_error(exc, path="config") if isinstance(exc, cattrs.BaseValidationError) else []
        )
        inner = _find_config_error(exc)
        if inner is not None:
            raise inner from None
        detail = "; ".join(messages) if messages else str(exc)
        raise ConfigError(f"invalid configuration: {detail}") from None


def _find_config_error(exc: BaseException) -> ConfigError | None:
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            found = _find_config_error(sub)
            if found is not None:
                return found
    return None


def config_to_dict(config: Config) -> dict[str, Any]:
    """JSON-safe nested dicts (sections as in the YAML file); :func:`config_from_dict` inverts it."""
    result: dict[str, Any] = converter.unstructure(config)
    result["symbols"] = list(config.symbols)
    return result


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating levels; rejects keys the config does not have.

    ``strategy.<key>`` must be a key of the strategy ``data`` names so far (``orb`` when none) or of
    a registered one: set ``strategy.name`` before the own keys of a strategy named by import path.
    The merged section is checked against its strategy's class by :func:`config_from_dict`.
    """
    parts = dotted.split(".")
    if parts[0] == "strategy" and len(parts) == 2:
        _check_strategy_key(data, parts[1], value)
    elif parts[0] == "validation" and len(parts) == 2:
        valid = set(ValidationConfig().flat())
        if parts[1] not in valid:
            raise ConfigError(f"unknown config key {dotted!r} (valid here: {', '.join(sorted(valid))})")
    else:
        cls: Any = Config
        for part in parts:
            if not attrs.has(cls):
                raise ConfigError(f"unknown config key {dotted!r}: {part!r} is below a value")
            names = {f.name: f for f in attrs.fields(cls)}
            if part not in names:
                raise ConfigError(f"unknown config key {dotted!r} (valid here: {', '.join(sorted(names))})")
            cls = names[part].type
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key {dotted!r}: {part!r} is not a section")
    node[parts[-1]] = value
