"""Several strategies in one engine, each on its own symbols: ``strategy: {name: multi, ...}``.

State: one strategy per entry of ``strategies`` (each its own state), and which symbol is whose.
Consumes: closed bars, session opens and entries, each routed to the strategy owning the symbol.
Emits: the strategies' signals in bar order, tagged with the strategy's ``label`` (or name).
Invariants: a symbol belongs to at most one strategy; a strategy never sees another's symbols;
all of them share the engine's flatten time (``strategy.flatten_minutes_before_close``).

```yaml
strategy:
  name: multi
  strategies:
    - {name: orb, symbols: [AAPL, MSFT], reward_risk: 3}
    - {name: ema_pullback, symbols: [TSLA]}
```
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import attrs

from vibe_core.calendar import Session
from vibe_core.config import ConfigError, StrategyConfig
from vibe_core.events import Bar
from vibe_core.feedgate import range_end_of
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.strategy.base import ALL_QUIET, QuietBand, Strategy
from vibe_core.strategy.registry import register, strategy_type

__all__ = ["MultiConfig", "MultiStrategy"]


def _check_legs(inst: MultiConfig, attribute: attrs.Attribute[Any], legs: tuple[StrategyConfig, ...]) -> None:
    owner: dict[str, int] = {}
    tags: dict[str, int] = {}
    default_flatten = attrs.fields(StrategyConfig).flatten_minutes_before_close.default
    for i, leg in enumerate(legs):
        key = f"strategy.strategies[{i}]"
        if isinstance(leg, MultiConfig):
            raise ConfigError(f"{key}.name: multi cannot hold multi")
        if not leg.symbols:
            raise ConfigError(f"{key}.symbols: each strategy of multi names its symbols")
        for symbol in leg.symbols:
            if symbol in owner:
                raise ConfigError(
                    f"{key}.symbols: {symbol} is already traded by strategy.strategies[{owner[symbol]}]"
                )
            owner[symbol] = i
        if leg.tag in tags:
            raise ConfigError(
                f"{key}.label: {leg.tag!r} tags strategy.strategies[{tags[leg.tag]}] too; give each a label"
            )
        tags[leg.tag] = i
        if leg.flatten_minutes_before_close not in (default_flatten, inst.flatten_minutes_before_close):
            raise ConfigError(
                f"{key}.flatten_minutes_before_close: the engine flattens once for every strategy; "
                "set strategy.flatten_minutes_before_close"
            )


@attrs.frozen(kw_only=True)
class MultiConfig(StrategyConfig):
    """``strategies``: each a strategy section of its own, with its ``symbols``."""

    name: str = "multi"
    strategies: tuple[StrategyConfig, ...] = attrs.field(default=(), validator=_check_legs)

    def claimed_symbols(self) -> tuple[str, ...]:
        return tuple(s for leg in self.strategies for s in leg.symbols)


@attrs.define
class MultiStrategy:
    config_class: ClassVar[type[MultiConfig]] = MultiConfig

    config: MultiConfig
    legs: list[Strategy]
    name: str = "multi"
    _owner: dict[str, int] = attrs.field(init=False, factory=dict)  #: symbol -> index in ``legs``
    _tags: list[str] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self._owner = {s: i for i, leg in enumerate(self.config.strategies) for s in leg.symbols}
        self._tags = [leg.tag for leg in self.config.strategies]

    @staticmethod
    def _leg_configs(config: MultiConfig) -> list[StrategyConfig]:
        flatten = config.flatten_minutes_before_close
        return [attrs.evolve(leg, flatten_minutes_before_close=flatten) for leg in config.strategies]

    @classmethod
    def from_config(cls, config: MultiConfig) -> MultiStrategy:
        legs = [strategy_type(leg.name).from_config(leg) for leg in cls._leg_configs(config)]
        return cls(config=config, legs=legs, name=config.tag)

    @classmethod
    def restore(cls, config: MultiConfig, data: list[Any]) -> MultiStrategy:
        legs = [
            strategy_type(leg.name).restore(leg, state)
            for leg, state in zip(cls._leg_configs(config), data, strict=True)
        ]
        return cls(config=config, legs=legs, name=config.tag)

    def snapshot(self) -> list[Any]:
        return [leg.snapshot() for leg in self.legs]

    def required_indicators(self) -> list[IndicatorSpec]:
        specs = {spec.key: spec for leg in self.legs for spec in leg.required_indicators()}
        return list(specs.values())

    def on_session_open(self, symbol: str, session: Session) -> None:
        i = self._owner.get(symbol)
        if i is not None:
            self.legs[i].on_session_open(symbol, session)

    def opening_range_end(self, symbol: str) -> int | None:
        """The owning strategy's opening range end for ``symbol``, when it has one."""
        i = self._owner.get(symbol)
        return None if i is None else range_end_of(self.legs[i], symbol)

    def quiet_band(self, symbol: str) -> QuietBand | None:
        """The owning strategy's band for ``symbol`` (``None`` when it states none); a symbol no
        strategy trades is quiet throughout."""
        i = self._owner.get(symbol)
        if i is None:
            return ALL_QUIET
        band = getattr(self.legs[i], "quiet_band", None)
        return None if band is None else band(symbol)

    def on_entry(self, symbol: str) -> None:
        i = self._owner.get(symbol)
        if i is not None:
            self.legs[i].on_entry(symbol)

    def on_bars(
        self, bars: Sequence[Bar], indicators: IndicatorBank, position: Callable[[str], int]
    ) -> Iterator[Signal]:
        # consecutive bars of one strategy's symbols go to it together; bar order is kept
        for i, run in itertools.groupby(bars, key=lambda bar: self._owner.get(bar.symbol)):
            if i is None:
                continue
            tag = self._tags[i]
            for signal in self.legs[i].on_bars(list(run), indicators, position):
                yield signal if signal.strategy == tag else attrs.evolve(signal, strategy=tag)


register("multi", MultiStrategy)
