"""The configuration tree: the top-level :class:`Config` and its strategy, validation, risk and feed sections.

State: none: frozen attrs classes with every default in code.
Consumes: values structured by :mod:`vibe_core.config.loading` (or built directly).
Emits: nothing; the engine reads them.
Invariants: a section class names its keys in errors through its ``section`` ClassVar; the
strategy's ``symbols`` are among ``Config.symbols``; :class:`ValidationConfig` holds one config
per registered rule, in registration order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from vibe_core.config.exchange import ExchangeConfig
from vibe_core.config.fields import ConfigError, fraction, non_negative, positive

__all__ = [
    "Config",
    "StrategyConfig",
    "RuleConfig",
    "ValidationConfig",
    "RiskConfig",
    "FeedConfig",
    "strategy_config_class",
    "MVP_SYMBOLS",
]

MVP_SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")


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
        from vibe_core.config.loading import structure_validation  # (it structures this class)

        return structure_validation(keys, cls)

    def rule(self, name: str) -> RuleConfig | None:
        for rule_name, config in self.rules:
            if rule_name == name:
                return config
        return None

    def flat(self) -> dict[str, Any]:
        """The section as in the YAML file: ``enabled``, each rule's switch and its keys."""
        from vibe_core.config.loading import converter

        out: dict[str, Any] = {"enabled": self.enabled}
        for name, config in self.rules:
            values = converter.unstructure(config, unstructure_as=type(config))
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
class FeedConfig:
    """The feed gate (:mod:`vibe_core.feedgate`): when a silent symbol counts as stale.

    ``stale_seconds``: a symbol is stale while another symbol's data is more than this much newer
    than its own latest print or bar (inside the session); no new entry is taken on it then. A
    silence across a feed outage longer than this is a gap. The live service's
    ``data.stale_seconds`` sets it too.
    """

    section: ClassVar[str] = "feed."

    stale_seconds: float = attrs.field(default=120.0, validator=positive)


@attrs.frozen(kw_only=True)
class Config:
    symbols: tuple[str, ...] = MVP_SYMBOLS
    initial_capital: float = attrs.field(default=10_000.0, validator=positive)
    seed: int = 0
    indicator_window: int = attrs.field(default=256, validator=positive)
    strategy: StrategyConfig = attrs.field(factory=_default_strategy)
    validation: ValidationConfig = attrs.Factory(ValidationConfig)
    risk: RiskConfig = RiskConfig()
    exchange: ExchangeConfig = ExchangeConfig()  # noqa: RUF009 (frozen: one shared default is safe)
    feed: FeedConfig = FeedConfig()

    @strategy.validator
    def _strategy_symbols(self, attribute: attrs.Attribute[StrategyConfig], value: StrategyConfig) -> None:
        unknown = [s for s in value.claimed_symbols() if s not in self.symbols]
        if unknown:
            raise ConfigError(f"strategy.symbols: {', '.join(unknown)} not in symbols")


for _cls in (StrategyConfig, RuleConfig, ValidationConfig, RiskConfig, FeedConfig, Config):
    attrs.resolve_types(_cls)
