"""The configuration tree: frozen attrs classes with every default in code.

Layering (YAML < environment ``VIBE__SECTION__KEY`` < CLI ``--set``) happens in the shells; they
merge plain dicts and hand them to :func:`config_from_dict`, which rejects unknown or ill-typed
keys with an error naming the key.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import cattrs

__all__ = [
    "Config",
    "StrategyConfig",
    "ValidationConfig",
    "RiskConfig",
    "ExchangeConfig",
    "FillModel",
    "ConfigError",
    "config_from_dict",
    "config_to_dict",
    "set_path",
    "MVP_SYMBOLS",
    "PRESETS",
]

MVP_SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """A bad configuration key or value; the message names the key."""


_SECTIONS = {
    "StrategyConfig": "strategy.",
    "ValidationConfig": "validation.",
    "RiskConfig": "risk.",
    "ExchangeConfig": "exchange.",
    "FillModel": "exchange.",
}


def _key(inst: object, attribute: attrs.Attribute[Any]) -> str:
    """The dotted config key of ``attribute`` (``exchange.preset``)."""
    return _SECTIONS.get(type(inst).__name__, "") + attribute.name


def _hhmm(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _HHMM.match(value):
        raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not a time of day HH:MM")


def _positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be > 0, got {value!r}")


def _non_negative(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be >= 0, got {value!r}")


def _fraction(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not 0 <= value <= 1:
        raise ConfigError(f"{_key(inst, attribute)}: must be within 0..1, got {value!r}")


def _one_of(*choices: str) -> Any:
    def check(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not one of {', '.join(choices)}")

    return check


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """Opening Range Breakout (DESIGN §4). ``name`` picks the strategy from the registry."""

    name: str = "orb"
    opening_range_minutes: int = attrs.field(default=15, validator=_positive)
    last_entry_time: str = attrs.field(default="15:00", validator=_hhmm)
    flatten_minutes_before_close: int = attrs.field(default=5, validator=_non_negative)
    reward_risk: float = attrs.field(default=2.0, validator=_positive)
    max_trades_per_day: int = attrs.field(default=1, validator=_non_negative)
    allow_short: bool = False
    stop_type: str = attrs.field(default="range", validator=_one_of("range", "atr", "percent"))
    atr_period: int = attrs.field(default=14, validator=_positive)
    atr_multiplier: float = attrs.field(default=1.0, validator=_positive)
    stop_percent: float = attrs.field(default=0.01, validator=_positive)


@attrs.frozen(kw_only=True)
class ValidationConfig:
    """Multi-timeframe checks on 15m and 1h state; each rule can be switched off."""

    enabled: bool = True
    trend: bool = True
    volume: bool = True
    support_resistance: bool = True
    ema_period: int = attrs.field(default=20, validator=_positive)
    volume_multiplier: float = attrs.field(default=1.5, validator=_non_negative)
    volume_sma_period: int = attrs.field(default=20, validator=_positive)
    sr_atr_multiple: float = attrs.field(default=0.5, validator=_non_negative)
    #: the ATR that measures "near" a swing point: of the 1h bars the swing points come from
    sr_atr_period: int = attrs.field(default=14, validator=_positive)
    sr_atr_timeframe: str = attrs.field(default="1h", validator=_one_of("5m", "15m", "1h"))
    swing_strength: int = attrs.field(default=2, validator=_positive)
    swing_lookback_bars: int = attrs.field(default=35, validator=_positive)


@attrs.frozen(kw_only=True)
class RiskConfig:
    risk_per_trade_pct: float = attrs.field(default=0.01, validator=_fraction)
    max_position_pct: float = attrs.field(default=0.20, validator=_positive)
    max_open_positions: int = attrs.field(default=5, validator=_non_negative)
    max_gross_exposure_pct: float = attrs.field(default=1.0, validator=_positive)
    daily_loss_halt_pct: float = attrs.field(default=0.03, validator=_fraction)
    flatten_on_halt: bool = True
    allow_margin: bool = False


@attrs.frozen(kw_only=True)
class FillModel:
    """Concrete fill-model numbers after the preset is applied (see :data:`PRESETS`)."""

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

    preset: str = attrs.field(default="base", validator=_one_of(*PRESETS))
    slippage_base_pct: float | None = attrs.field(default=None, validator=_non_negative)
    slippage_volatility: float | None = attrs.field(default=None, validator=_non_negative)
    slippage_size: float | None = attrs.field(default=None, validator=_non_negative)
    partial_fills: bool | None = None
    partial_probability: float | None = attrs.field(default=None, validator=_fraction)
    max_participation: float | None = attrs.field(default=None, validator=_fraction)
    fill_delay_ms_min: int | None = attrs.field(default=None, validator=_non_negative)
    fill_delay_ms_max: int | None = attrs.field(default=None, validator=_non_negative)
    fee_per_share: float | None = attrs.field(default=None, validator=_non_negative)
    fee_min: float | None = attrs.field(default=None, validator=_non_negative)

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
    initial_capital: float = attrs.field(default=10_000.0, validator=_positive)
    seed: int = 0
    indicator_window: int = attrs.field(default=256, validator=_positive)
    strategy: StrategyConfig = StrategyConfig()
    validation: ValidationConfig = ValidationConfig()
    risk: RiskConfig = RiskConfig()
    exchange: ExchangeConfig = ExchangeConfig()


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
    return conv


_converter = _strict_converter()


def config_from_dict(data: dict[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from nested dicts; unknown or ill-typed keys raise :class:`ConfigError`."""
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
    result: dict[str, Any] = _converter.unstructure(config)
    result["symbols"] = list(config.symbols)
    return result


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating levels; rejects keys the config does not have."""
    parts = dotted.split(".")
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


for _cls in (StrategyConfig, ValidationConfig, RiskConfig, FillModel, ExchangeConfig, Config):
    attrs.resolve_types(_cls)
