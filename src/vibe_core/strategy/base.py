"""The strategy protocol and the registry that builds strategies by name from config.

A strategy is a small reducer owned by the engine: it sees closed bars (all timeframes, in
close order) and the session calendar, and proposes :class:`~vibe_core.models.Signal`s. It never
sizes, validates or places orders: risk, validation and the venue do that, the same way for every
strategy. A new strategy plugs in with :func:`register` and touches nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from vibe_core.calendar import Session
from vibe_core.config import Config
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal

__all__ = ["Strategy", "PerBar", "register", "create", "registered", "restore_strategy"]


class Strategy(Protocol):
    name: str

    def required_indicators(self) -> list[IndicatorSpec]:
        """Indicator specs the strategy reads (the engine adds them to its bank)."""
        ...

    def on_session_open(self, symbol: str, session: Session) -> None:
        """A new regular session starts for ``symbol``: reset per-day state."""
        ...

    def on_bars(
        self, bars: Sequence[Bar], start: int, indicators: IndicatorBank, position: Callable[[str], int]
    ) -> tuple[int, Signal | None]:
        """React to the closed bars ``bars[start:]`` in turn, up to the first one that signals.

        Returns the index after that bar and its entry signal, or ``(len(bars), None)``. The engine
        sizes and places (or vetoes) the entry, then calls again from the returned index, so the
        bars after it see the entry (:meth:`on_entry`) exactly as if they came one by one.
        ``bars`` are every tracked timeframe's bars closing now, in close order (a strategy
        picks its own); ``indicators`` already include all of them; ``position(symbol)`` is the
        symbol's signed quantity. One call per engine step instead of one per bar: this runs for
        every bar of a backtest. :class:`PerBar` writes it for a strategy that has ``on_bar``.
        """
        ...

    def on_entry(self, symbol: str) -> None:
        """An entry order for ``symbol`` was placed (counts toward the daily trade limit)."""
        ...

    def snapshot(self) -> dict[str, Any]: ...


class PerBar:
    """Mixin: :meth:`Strategy.on_bars` from a one-bar ``on_bar(bar, indicators, position)``.

    For strategies that look at one bar at a time and need no speed beyond it (the built-in ORB
    writes its own loop).
    """

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        """A closed bar (any timeframe); may return an entry signal."""
        raise NotImplementedError

    def on_bars(
        self, bars: Sequence[Bar], start: int, indicators: IndicatorBank, position: Callable[[str], int]
    ) -> tuple[int, Signal | None]:
        for i in range(start, len(bars)):
            bar = bars[i]
            signal = self.on_bar(bar, indicators, position(bar.symbol))
            if signal is not None:
                return i + 1, signal
        return len(bars), None


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
