"""The strategy registry: names (and import paths) to strategy classes, and building from config.

State: the module-level registry ``name -> strategy class`` (filled on import by the built-in
strategies, and by :func:`register`).
Consumes: strategy classes to register; ``strategy.name`` values (a name or an import path).
Emits: the strategy class (:func:`strategy_type`), a built or restored strategy
(:func:`create`, :func:`restore_strategy`); a :class:`~vibe_core.config.ConfigError` naming
``strategy.name`` for an unknown name, a failed import or a class without the three members.
Invariants: every registered class has a ``StrategyConfig`` subclass as ``config_class``, and
``from_config`` and ``restore``.

A strategy class has a ``config_class`` (a :class:`~vibe_core.config.StrategyConfig` subclass
holding its keys) and two class methods: ``from_config(config)`` and ``restore(config, data)``,
``data`` being what its ``snapshot()`` returned. :func:`register` gives it a short name;
without one, ``strategy.name`` can name it by import path (``mypkg.strats:MyStrategy``).
"""

from __future__ import annotations

import pkgutil
from typing import Any, Protocol

from vibe_core.config import Config, ConfigError, StrategyConfig
from vibe_core.strategy.base import Strategy

__all__ = ["StrategyType", "register", "registered", "strategy_type", "create", "restore_strategy"]


class StrategyType(Protocol):
    """What :func:`register` takes and an import path must name: a strategy class."""

    @property
    def config_class(self) -> type[StrategyConfig]: ...

    def from_config(self, config: Any) -> Strategy:
        """A fresh strategy for ``config`` (an instance of ``config_class``)."""
        ...

    def restore(self, config: Any, data: Any) -> Strategy:
        """The strategy whose ``snapshot()`` returned ``data``."""
        ...


_REGISTRY: dict[str, StrategyType] = {}


def register(name: str, strategy: StrategyType) -> None:
    """Make ``strategy`` available as ``strategy.name = <name>`` in config."""
    _check(name, strategy)
    _REGISTRY[name] = strategy


def registered() -> list[str]:
    return sorted(_REGISTRY)


def strategy_type(name: str) -> StrategyType:
    """The strategy class ``name`` picks: a registered name or an import path ``pkg.module:Class``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" not in name:
        raise ConfigError(
            f"strategy.name: unknown strategy {name!r}; known: {', '.join(registered())}, "
            "or an import path package.module:Class"
        )
    # The one import the core makes: a user's strategy module, while the config is read (the
    # same name always loads the same class; nothing here depends on time or the world).
    try:
        found = pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"strategy.name: cannot import {name!r}: {exc}") from None
    _check(name, found)
    strategy: StrategyType = found
    return strategy


def _check(name: str, strategy: Any) -> None:
    config_class = getattr(strategy, "config_class", None)
    if not (isinstance(config_class, type) and issubclass(config_class, StrategyConfig)):
        raise ConfigError(f"strategy.name: {name!r} has no config_class (a StrategyConfig subclass)")
    for method in ("from_config", "restore"):
        if not callable(getattr(strategy, method, None)):
            raise ConfigError(f"strategy.name: {name!r} has no {method}()")


def _section(config: Config) -> StrategyConfig:
    """``config.strategy``; a single strategy limited to some ``symbols`` runs inside ``multi``."""
    section = config.strategy
    if section.symbols and section.claimed_symbols() == section.symbols:
        from vibe_core.strategy.multi import MultiConfig  # (multi registers through this module)

        return MultiConfig(
            strategies=(section,), flatten_minutes_before_close=section.flatten_minutes_before_close
        )
    return section


def create(config: Config) -> Strategy:
    """The strategy of ``config.strategy``."""
    section = _section(config)
    return strategy_type(section.name).from_config(section)


def restore_strategy(config: Config, data: Any) -> Strategy:
    """The strategy of ``config.strategy`` as its ``snapshot()`` left it."""
    section = _section(config)
    return strategy_type(section.name).restore(section, data)
