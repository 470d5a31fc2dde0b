"""The configuration tree: frozen attrs classes with every default in code.

Layering (YAML < environment ``VIBE__SECTION__KEY`` < CLI ``--set``) happens in the shells; they
merge plain dicts and hand them to :func:`config_from_dict`, which rejects unknown or ill-typed
keys with an error naming the key.

Two sections are open: ``strategy`` is validated by the config class of the strategy its ``name``
picks (a registered name, or an import path ``mypkg.strats:MyStrategy``), a subclass of
:class:`StrategyConfig`; ``validation`` holds ``enabled``, one switch per registered rule and each
rule's own keys (a :class:`RuleConfig` subclass), flat as in the YAML file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import cattrs

__all__ = [
    "Config",
    "StrategyConfig",
    "RuleConfig",
    "ValidationConfig",
    "RiskConfig",
    "ExchangeConfig",
    "FillModel",
    "ConfigError",
    "config_from_dict",
    "config_to_dict",
    "structure_section",
    "set_path",
    "hhmm",
    "positive",
    "non_negative",
    "fraction",
    "one_of",
    "MVP_SYMBOLS",
    "PRESETS",
]

MVP_SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """A bad configuration key or value; the message names the key."""


def _key(inst: object, attribute: attrs.Attribute[Any]) -> str:
    """The dotted config key of ``attribute`` (``exchange.preset``): classes name their section."""
    return str(getattr(type(inst), "section", "")) + attribute.name


# validators for config classes, the built-in ones and a user's (errors name the dotted key)


def hhmm(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    """A time of day ``HH:MM``."""
    if not _HHMM.match(value):
        raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not a time of day HH:MM")


def positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be > 0, got {value!r}")


def non_negative(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be >= 0, got {value!r}")


def fraction(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not 0 <= value <= 1:
        raise ConfigError(f"{_key(inst, attribute)}: must be within 0..1, got {value!r}")


def one_of(*choices: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    def check(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not one of {', '.join(choices)}")

    return check


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """The keys every strategy has; a strategy's own config class subclasses this one.

    ``name`` picks the strategy: a registered name (``orb``) or an import path
    (``mypkg.strats:MyStrategy``). ``symbols`` limits it to some of the configured symbols (empty:
    all of them; required for each strategy of ``multi``). ``label`` tags its signals, orders and
    trades (empty: the name). ``flatten_minutes_before_close`` is when the engine flattens every
    position (and no strategy enters any more), 12:55 on a 13:00 early close by default.
    """

    section: ClassVar[str] = "strategy."

    name: str = "orb"
    symbols: tuple[str, ...] = ()
    label: str = ""
    flatten_minutes_before_close: int = attrs.field(default=5, validator=non_negative)

    @property
    def tag(self) -> str:
        """What the strategy's signals, orders and trades are tagged with."""
        return self.label or self.name

    def claimed_symbols(self) -> tuple[str, ...]:
        """The symbols this section names (``multi``: those of its strategies)."""
        return self.symbols


@attrs.frozen(kw_only=True)
class RuleConfig:
    """The keys every validation rule has; a rule's own config class subclasses this one.

    In the ``validation`` section the rule's switch is its name (``validation.trend: false``) and
    its other keys sit flat beside it (``validation.ema_period: 20``), so key names are unique
    across rules (checked when a rule registers).
    """

    section: ClassVar[str] = "validation."

    enabled: bool = True


def _rule_types() -> Mapping[str, Any]:
    from vibe_core.validation.registry import rule_types  # (the rules import this module)

    return rule_types()


def _default_rules() -> tuple[tuple[str, RuleConfig], ...]:
    return tuple((name, rule.config_class()) for name, rule in _rule_types().items())


@attrs.frozen(kw_only=True)
class ValidationConfig:
    """Multi-timeframe checks on 15m and 1h state: ``enabled`` plus every registered rule's config.

    Read a rule's switch or key by its flat name (``config.validation.trend``,
    ``config.validation.ema_period``) or its config with :meth:`rule`. Build one from flat keys
    with :meth:`of` (``ValidationConfig.of(trend=False)``).
    """

    section: ClassVar[str] = "validation."

    enabled: bool = True
    rules: tuple[tuple[str, RuleConfig], ...] = attrs.field(factory=_default_rules)

    @classmethod
    def of(cls, **keys: Any) -> ValidationConfig:
        """From the flat keys of the YAML section; unknown or ill-typed keys raise :class:`ConfigError`."""
        return _structure_validation(keys, cls)

    def rule(self, name: str) -> RuleConfig | None:
        for rule_name, config in self.rules:
            if rule_name == name:
                return config
        return None

    def flat(self) -> dict[str, Any]:
        """The section as in the YAML file: ``enabled``, each rule's switch and its keys."""
        out: dict[str, Any] = {"enabled": self.enabled}
        for name, config in self.rules:
            values = _converter.unstructure(config, unstructure_as=type(config))
            out[name] = values.pop("enabled")
            out.update(values)
        return out

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key in ("enabled", "rules"):  # (not set yet: no recursion)
            raise AttributeError(key)
        flat = self.flat()
        if key in flat:
            return flat[key]
        raise AttributeError(f"validation has no key {key!r}")


def _default_strategy() -> StrategyConfig:
    return strategy_config_class("orb")()


def strategy_config_class(name: str) -> type[StrategyConfig]:
    from vibe_core.strategy.registry import strategy_type  # (strategies import this module)

    config_class: type[StrategyConfig] = strategy_type(name).config_class
    return config_class


@attrs.frozen(kw_only=True)
class RiskConfig:
    section: ClassVar[str] = "risk."

    risk_per_trade_pct: float = attrs.field(default=0.01, validator=fraction)
    max_position_pct: float = attrs.field(default=0.20, validator=positive)
    max_open_positions: int = attrs.field(default=5, validator=non_negative)
    max_gross_exposure_pct: float = attrs.field(default=1.0, validator=positive)
    daily_loss_halt_pct: float = attrs.field(default=0.03, validator=fraction)
    flatten_on_halt: bool = True
    allow_margin: bool = False


@attrs.frozen(kw_only=True)
class FillModel:
    """Concrete fill-model numbers after the preset is applied (see :data:`PRESETS`)."""

    section: ClassVar[str] = "exchange."

    slippage_base_pct: float = 0.0
    slippage_volatility: float = 0.0
    slippage_size: float = 0.0
    partial_fills: bool = False
    partial_probability: float = 0.0
    max_participation: float = 1.0
    fill_delay_ms_min: int = 0
    fill_delay_ms_max: int = 0
    fee_per_share: float = 0.0
    fee_min: float = 0.0


PRESETS: dict[str, FillModel] = {
    "optimistic": FillModel(),
    "base": FillModel(
        slippage_base_pct=0.0002,
        slippage_volatility=0.05,
        slippage_size=0.1,
        partial_fills=True,
        partial_probability=0.2,
        max_participation=0.1,
    ),
    "pessimistic": FillModel(
        slippage_base_pct=0.0005,
        slippage_volatility=0.1,
        slippage_size=0.2,
        partial_fills=True,
        partial_probability=0.5,
        max_participation=0.05,
        fill_delay_ms_min=500,
        fill_delay_ms_max=2000,
        fee_per_share=0.005,
        fee_min=1.0,
    ),
}


@attrs.frozen(kw_only=True)
class ExchangeConfig:
    """The simulated venue: a preset plus explicit overrides (``None`` = take the preset's)."""

    section: ClassVar[str] = "exchange."

    preset: str = attrs.field(default="base", validator=one_of(*PRESETS))
    slippage_base_pct: float | None = attrs.field(default=None, validator=non_negative)
    slippage_volatility: float | None = attrs.field(default=None, validator=non_negative)
    slippage_size: float | None = attrs.field(default=None, validator=non_negative)
    partial_fills: bool | None = None
    partial_probability: float | None = attrs.field(default=None, validator=fraction)
    max_participation: float | None = attrs.field(default=None, validator=fraction)
    fill_delay_ms_min: int | None = attrs.field(default=None, validator=non_negative)
    fill_delay_ms_max: int | None = attrs.field(default=None, validator=non_negative)
    fee_per_share: float | None = attrs.field(default=None, validator=non_negative)
    fee_min: float | None = attrs.field(default=None, validator=non_negative)

    def fill_model(self) -> FillModel:
        """The preset with every explicitly set key applied on top."""
        base = PRESETS[self.preset]
        changes = {
            f.name: getattr(self, f.name)
            for f in attrs.fields(ExchangeConfig)
            if f.name != "preset" and getattr(self, f.name) is not None
        }
        model = attrs.evolve(base, **changes)
        if model.fill_delay_ms_max < model.fill_delay_ms_min:
            raise ConfigError("exchange.fill_delay_ms_max must be >= exchange.fill_delay_ms_min")
        return model


@attrs.frozen(kw_only=True)
class Config:
    symbols: tuple[str, ...] = MVP_SYMBOLS
    initial_capital: float = attrs.field(default=10_000.0, validator=positive)
    seed: int = 0
    indicator_window: int = attrs.field(default=256, validator=positive)
    strategy: StrategyConfig = attrs.field(factory=_default_strategy)
    validation: ValidationConfig = attrs.Factory(ValidationConfig)
    risk: RiskConfig = RiskConfig()
    exchange: ExchangeConfig = ExchangeConfig()

    @strategy.validator
    def _strategy_symbols(self, attribute: attrs.Attribute[StrategyConfig], value: StrategyConfig) -> None:
        unknown = [s for s in value.claimed_symbols() if s not in self.symbols]
        if unknown:
            raise ConfigError(f"strategy.symbols: {', '.join(unknown)} not in symbols")


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
    conv.register_structure_hook_func(lambda t: t is ValidationConfig, _structure_validation)

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
        return _converter.structure(dict(data), cls)
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


def _structure_validation(data: Any, _t: Any) -> ValidationConfig:
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


_converter = _strict_converter()


def config_from_dict(data: dict[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from nested dicts; unknown or ill-typed keys raise :class:`ConfigError`."""
    _check_keys(data or {}, Config, "")
    for name, cls in (("risk", RiskConfig), ("exchange", ExchangeConfig)):
        section = (data or {}).get(name)
        if isinstance(section, Mapping):
            _check_keys(section, cls, f"{name}.")
    try:
        return _converter.structure(data or {}, Config)
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
    result: dict[str, Any] = _converter.unstructure(config)
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


for _cls in (StrategyConfig, RuleConfig, ValidationConfig, RiskConfig, FillModel, ExchangeConfig, Config):
    attrs.resolve_types(_cls)
