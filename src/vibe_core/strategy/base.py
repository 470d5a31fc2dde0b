"""The strategy protocol and the registry that builds strategies by name from config.

A strategy is a small reducer owned by the engine: it sees closed bars (all timeframes, in
close order) and the session calendar, and proposes :class:`~vibe_core.models.Signal`s. It never
sizes, validates or places orders: risk, validation and the venue do that, the same way for every
strategy. A new strategy plugs in with :func:`register` and touches nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from vibe_core.calendar import Session
from vibe_core.config import Config
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal

__all__ = ["Strategy", "register", "create", "registered", "restore_strategy"]


class Strategy(Protocol):
    name: str

    def required_indicators(self) -> list[IndicatorSpec]:
        """Indicator specs the strategy reads (the engine adds them to its bank)."""
        ...

    def on_session_open(self, symbol: str, session: Session) -> None:
        """A new regular session starts for ``symbol``: reset per-day state."""
        ...

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        """A closed bar (any timeframe); may return an entry signal.

        ``indicators`` already include every bar that closed at the same time; ``position`` is the
        symbol's signed quantity.
        """
        ...

    def on_entry(self, symbol: str) -> None:
        """An entry order for ``symbol`` was placed (counts toward the daily trade limit)."""
        ...

    def snapshot(self) -> dict[str, Any]: ...


Factory = Callable[[Config], Strategy]
Restorer = Callable[[Config, dict[str, Any]], Strategy]
_REGISTRY: dict[str, tuple[Factory, Restorer]] = {}


def register(name: str, factory: Factory, restorer: Restorer) -> None:
    """Make a strategy available as ``strategy.name = <name>`` in config."""
    _REGISTRY[name] = (factory, restorer)


def registered() -> list[str]:
    return sorted(_REGISTRY)


def _lookup(name: str) -> tuple[Factory, Restorer]:
    from vibe_core.config import ConfigError

    if name not in _REGISTRY:
        raise ConfigError(f"strategy.name: unknown strategy {name!r}; known: {', '.join(registered())}")
    return _REGISTRY[name]


def create(config: Config) -> Strategy:
    return _lookup(config.strategy.name)[0](config)


def restore_strategy(config: Config, data: dict[str, Any]) -> Strategy:
    return _lookup(config.strategy.name)[1](config, data)
