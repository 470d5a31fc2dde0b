"""The strategy protocol, and two helpers to write one: :class:`PerBar` and :class:`BarStrategy`.

State: each strategy owns its own (per-symbol state, its config); :class:`BarStrategy` keeps its
config, its ``name`` and a JSON-safe ``state`` dict, :class:`PerBar` nothing.
Consumes: closed bars of every tracked timeframe (in close order), session opens, entries placed.
Emits: entry :class:`~vibe_core.models.Signal` s.
Invariants: a strategy sees only closed bars and the indicators that include them; it never
sizes or places orders; ``restore(config, snapshot())`` continues exactly like the original.

A strategy is a small reducer owned by the engine: it sees closed bars (all timeframes, in close
order) and the session calendar, and proposes :class:`~vibe_core.models.Signal` s. It never sizes,
validates or places orders: validation, risk and the venue do that, the same way for every
strategy. A new strategy is one module: a config class, the strategy class, and a
:func:`~vibe_core.strategy.registry.register` call (or none: ``strategy.name`` may be its import
path ``mypkg.strats:MyStrategy``).

A strategy may also say which bars cannot matter to it, so that a backtest need not feed them
(:mod:`vibe_core.engine.skip`): an optional ``quiet_band(symbol) -> QuietBand | None``. A strategy
without it (or returning ``None``) is fed every bar, exactly as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Final, Generic, Protocol, Self, TypeAlias, TypeVar

from vibe_core.calendar import Session
from vibe_core.config import StrategyConfig
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal

__all__ = ["Strategy", "PerBar", "BarStrategy", "QuietBand", "ALL_QUIET"]

#: ``(low, high, after, until)``: a closed bar of the symbol (any timeframe) that ends after ``after``
#: and before ``until`` (ns) with its close in ``[low, high]`` changes nothing in the strategy: no
#: signal, the same ``snapshot()``; neither do the higher-timeframe bars such bars complete. Bars
#: ending at or before ``after`` or at or after ``until`` are not covered. (A strategy that reads
#: more of a bar than its close states no band, or one that covers what it reads.)
QuietBand: TypeAlias = tuple[float, float, int, int]
#: every bar is quiet (the strategy ignores the symbol for now)
ALL_QUIET: Final[QuietBand] = (-float("inf"), float("inf"), -(1 << 62), 1 << 62)


class Strategy(Protocol):
    """What the engine calls. ``name`` tags the strategy's signals (their ``strategy`` field)."""

    name: str

    def required_indicators(self) -> list[IndicatorSpec]:
        """Indicator specs the strategy reads (the engine adds them to its bank)."""
        ...

    def on_session_open(self, symbol: str, session: Session) -> None:
        """A new regular session starts for ``symbol``: reset per-day state."""
        ...

    def on_bars(
        self, bars: Sequence[Bar], indicators: IndicatorBank, position: Callable[[str], int]
    ) -> Iterable[Signal]:
        """The closed bars of one instant, in close order: the entry signals they give, in order.

        ``bars`` are every tracked timeframe's bars closing now (a strategy picks its own);
        ``indicators`` already include all of them; ``position(symbol)`` is the symbol's signed
        quantity. The engine validates, sizes and places each signal's entry as it comes, so a
        generator (``yield``) sees its entry (:meth:`on_entry`) before it looks at the next bar,
        exactly as if the bars came one by one; a list is fine when that does not matter.
        """
        ...

    def on_entry(self, symbol: str) -> None:
        """An entry order for ``symbol`` was placed (counts toward a daily trade limit)."""
        ...

    def snapshot(self) -> Any:
        """The strategy's state as JSON-safe data (its class's ``restore`` takes it back)."""
        ...


class PerBar:
    """Mixin: :meth:`Strategy.on_bars` from a one-bar ``on_bar(bar, indicators, position)``."""

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        """A closed bar (any timeframe); may return an entry signal."""
        raise NotImplementedError

    def on_bars(
        self, bars: Sequence[Bar], indicators: IndicatorBank, position: Callable[[str], int]
    ) -> Iterator[Signal]:
        for bar in bars:
            signal = self.on_bar(bar, indicators, position(bar.symbol))
            if signal is not None:
                yield signal


C = TypeVar("C", bound=StrategyConfig)


class BarStrategy(PerBar, Generic[C]):
    """A base for a strategy written as ``on_bar``: everything else has a default.

    Set ``config_class`` to the strategy's config class (a :class:`StrategyConfig` subclass) and
    write :meth:`on_bar`. Keep what the strategy remembers in ``self.state`` (JSON-safe: numbers,
    strings, lists, dicts): it is saved and restored with the engine, so a restart continues the
    same day. Override :meth:`on_session_open` to reset per-day state and
    :meth:`required_indicators` to read indicators.
    """

    config_class: ClassVar[type[StrategyConfig]] = StrategyConfig

    def __init__(self, config: C) -> None:
        self.config = config
        self.name = config.tag
        self.state: dict[str, Any] = {}

    @classmethod
    def from_config(cls, config: C) -> Self:
        return cls(config)

    @classmethod
    def restore(cls, config: C, data: Any) -> Self:
        strategy = cls(config)
        strategy.state = copy.deepcopy(data)
        return strategy

    def snapshot(self) -> Any:
        return copy.deepcopy(self.state)

    def required_indicators(self) -> list[IndicatorSpec]:
        return []

    def on_session_open(self, symbol: str, session: Session) -> None:
        pass

    def on_entry(self, symbol: str) -> None:
        pass
