"""The built-in validation rules: each looks at a signal and the multi-timeframe state: yes or no, and why.

State: the rules are frozen (their config only); :class:`Swings` (recent 1h highs and lows of
one symbol, with a memo of its last answer) is owned by the validator.
Consumes: a :class:`~vibe_core.models.Signal` and its :class:`~vibe_core.validation.registry.RuleContext`.
Emits: ``(ok, reason)`` per rule.
Invariants: a rule reads only closed bars; the same signal and context give the same verdict
(the memo is dropped when the values change).

A rule returns ``(ok, reason)``; the reason is short and numeric ("volume 0.80x < 1.50x") so shells
can log and show it. Rules never see a bar that had not closed when the signal was made. Each rule
has its own config class (its keys, flat in the ``validation`` section) and registers itself.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

import attrs

from vibe_core.config import RuleConfig, non_negative, one_of, positive
from vibe_core.indicators import IndicatorSpec
from vibe_core.models import Signal
from vibe_core.types import Side, Timeframe
from vibe_core.validation.registry import RuleContext, register_rule

_INF = float("inf")

__all__ = [
    "TrendAlignment",
    "TrendConfig",
    "VolumeConfirmation",
    "VolumeConfig",
    "SupportResistance",
    "SupportResistanceConfig",
    "Swings",
    "sr_atr_spec",
]


@attrs.define
class Swings:
    """Recent closed 1h bars of one symbol (high, low), enough to find confirmed swing points."""

    highs: deque[float]
    lows: deque[float]

    @classmethod
    def empty(cls, maxlen: int) -> Swings:
        return cls(highs=deque(maxlen=maxlen), lows=deque(maxlen=maxlen))

    def swing_highs(self, strength: int, above: float = -_INF, top: float = _INF) -> list[float]:
        """Highs strictly above ``strength`` bars on each side (confirmed: the right side has closed),
        among those in ``(above, top]`` (every one by default)."""
        return _extremes(list(self.highs), strength, True, above, top)

    def swing_lows(self, strength: int, bottom: float = -_INF, below: float = _INF) -> list[float]:
        """Lows strictly below ``strength`` bars on each side, among those in ``[bottom, below)``."""
        return _extremes(list(self.lows), strength, False, bottom, below)


def _extremes(values: list[float], strength: int, high: bool, lo: float, hi: float) -> list[float]:
    """Values strictly above (``high``; else below) each of the ``strength`` values on each side,
    among those in ``(lo, hi]`` (highs) or ``[lo, hi)`` (lows).

    Cheapest test first: the range (a rule asks about a narrow one), then the next neighbours,
    and only then the rest of the window.
    """
    out = []
    for i in range(strength, len(values) - strength):
        v = values[i]
        if high:
            if (
                lo < v <= hi
                and v > values[i - 1]
                and v > values[i + 1]
                and v > max(values[i - strength : i])
                and v > max(values[i + 1 : i + strength + 1])
            ):
                out.append(v)
        elif (
            lo <= v < hi
            and v < values[i - 1]
            and v < values[i + 1]
            and v < min(values[i - strength : i])
            and v < min(values[i + 1 : i + strength + 1])
        ):
            out.append(v)
    return out


def sr_atr_spec(config: SupportResistanceConfig) -> IndicatorSpec:
    """The ATR the support/resistance rule measures distances in (1h by default, like the swings).

    Swing points are 1h structure, so "near" is judged in 1h volatility; a 5m ATR would make the
    zone a few cents wide and the rule almost never fire.
    """
    return IndicatorSpec(
        kind="atr", period=config.sr_atr_period, timeframe=Timeframe.parse(config.sr_atr_timeframe)
    )


def _fmt(x: float) -> str:
    return f"{x:.2f}"


@attrs.frozen(kw_only=True)
class TrendConfig(RuleConfig):
    ema_period: int = attrs.field(default=20, validator=positive)


@attrs.frozen
class TrendAlignment:
    """Longs: 1h close above its EMA and the 15m EMA rising (mirrored for shorts)."""

    config_class: ClassVar[type[RuleConfig]] = TrendConfig

    config: TrendConfig
    name: str = "trend"
    history_1h: int = 0
    specs: tuple[IndicatorSpec, ...] = attrs.field(init=False, repr=False, eq=False)

    @specs.default
    def _specs(self) -> tuple[IndicatorSpec, ...]:
        p = self.config.ema_period
        return (
            IndicatorSpec(kind="ema", period=p, timeframe=Timeframe.H1),
            IndicatorSpec(kind="ema", period=p, timeframe=Timeframe.M15),
        )

    def check(self, signal: Signal, ctx: RuleContext) -> tuple[bool, str]:
        key_1h, key_15m = self.specs[0].key, self.specs[1].key
        bank = ctx.indicators
        symbol = signal.symbol  # (value_at(..., 0) is value(...): one call fewer per read)
        ema_1h = bank.value_at(symbol, key_1h, 0)
        close_1h = ctx.close_1h
        ema_15m = bank.value_at(symbol, key_15m, 0)
        prev_15m = bank.value_at(symbol, key_15m, 1)
        if ema_1h is None or close_1h is None or ema_15m is None or prev_15m is None:
            return False, f"trend: warming up ({key_1h}, {key_15m} not ready)"
        if signal.side is Side.BUY:
            ok = close_1h > ema_1h and ema_15m > prev_15m
            rel, slope = (
                (">" if close_1h > ema_1h else "<="),
                ("rising" if ema_15m > prev_15m else "not rising"),
            )
        else:
            ok = close_1h < ema_1h and ema_15m < prev_15m
            rel, slope = (
                ("<" if close_1h < ema_1h else ">="),
                ("falling" if ema_15m < prev_15m else "not falling"),
            )
        return ok, f"trend: 1h close {_fmt(close_1h)} {rel} {key_1h} {_fmt(ema_1h)}, {key_15m} {slope}"


@attrs.frozen(kw_only=True)
class VolumeConfig(RuleConfig):
    volume_multiplier: float = attrs.field(default=1.5, validator=non_negative)
    volume_sma_period: int = attrs.field(default=20, validator=positive)


@attrs.frozen
class VolumeConfirmation:
    """Breakout bar volume >= multiplier x SMA of prior 5m volume, same data source only.

    The average needs ``volume_sma_period`` + 1 bars of the breakout bar's source in a row (the
    breakout bar and the ones it is compared with): volume of another feed is not comparable.
    """

    config_class: ClassVar[type[RuleConfig]] = VolumeConfig

    config: VolumeConfig
    name: str = "volume"
    history_1h: int = 0
    specs: tuple[IndicatorSpec, ...] = attrs.field(init=False, repr=False, eq=False)

    @specs.default
    def _specs(self) -> tuple[IndicatorSpec, ...]:
        return (
            IndicatorSpec(
                kind="sma", period=self.config.volume_sma_period, timeframe=Timeframe.M5, field="volume"
            ),
        )

    def check(self, signal: Signal, ctx: RuleContext) -> tuple[bool, str]:
        seen = ctx.volume_source
        history = self.config.volume_sma_period + 1
        if seen is None or seen[1] < history:
            count = 0 if seen is None else seen[1]
            source = "?" if seen is None else seen[0] or "unnamed"
            return False, f"volume: only {count}/{history} {source} bars to compare"
        key = self.specs[0].key
        avg = ctx.indicators.value_at(signal.symbol, key, 1)
        if avg is None:
            return False, f"volume: warming up ({key} not ready)"
        need = self.config.volume_multiplier
        if avg <= 0:
            return ctx.breakout_volume > 0, f"volume: average is 0, bar {ctx.breakout_volume:.0f}"
        ratio = ctx.breakout_volume / avg
        ok = ratio >= need
        return ok, f"volume {ratio:.2f}x {'>=' if ok else '<'} {need:.2f}x"  # .1f showed "1.5x < 1.5x"


@attrs.frozen(kw_only=True)
class SupportResistanceConfig(RuleConfig):
    sr_atr_multiple: float = attrs.field(default=0.5, validator=non_negative)
    #: the ATR that measures "near" a swing point: of the 1h bars the swing points come from
    sr_atr_period: int = attrs.field(default=14, validator=positive)
    sr_atr_timeframe: str = attrs.field(default="1h", validator=one_of("5m", "15m", "1h"))
    swing_strength: int = attrs.field(default=2, validator=positive)
    swing_lookback_bars: int = attrs.field(default=35, validator=positive)


@attrs.frozen
class SupportResistance:
    """Longs: no confirmed 1h swing high within k x ATR above the entry (mirrored for shorts)."""

    config_class: ClassVar[type[RuleConfig]] = SupportResistanceConfig

    config: SupportResistanceConfig
    name: str = "support_resistance"
    specs: tuple[IndicatorSpec, ...] = attrs.field(init=False, repr=False, eq=False)
    history_1h: int = attrs.field(init=False, repr=False, eq=False)

    @history_1h.default
    def _history_1h(self) -> int:
        return self.config.swing_lookback_bars

    @specs.default
    def _specs(self) -> tuple[IndicatorSpec, ...]:
        return (sr_atr_spec(self.config),)

    def check(self, signal: Signal, ctx: RuleContext) -> tuple[bool, str]:
        atr_key = self.specs[0].key
        atr = ctx.indicators.value_at(signal.symbol, atr_key, 0)
        if atr is None:
            return False, f"resistance: warming up ({atr_key} not ready)"
        if ctx.swings is None:
            return True, "resistance: no 1h history"
        room = self.config.sr_atr_multiple * atr
        price = signal.price
        if signal.side is Side.BUY:
            near = ctx.swings.swing_highs(self.config.swing_strength, price, price + room)
            if near:
                h = min(near)
                return (
                    False,
                    f"resistance: 1h swing high {_fmt(h)} is {(h - price) / atr:.2f} ATR above entry",
                )
            return True, f"resistance: no 1h swing high within {self.config.sr_atr_multiple} ATR above"
        near = ctx.swings.swing_lows(self.config.swing_strength, price - room, price)
        if near:
            lo = max(near)
            return False, f"support: 1h swing low {_fmt(lo)} is {(price - lo) / atr:.2f} ATR below entry"
        return True, f"support: no 1h swing low within {self.config.sr_atr_multiple} ATR below"


register_rule("trend", TrendAlignment)
register_rule("volume", VolumeConfirmation)
register_rule("support_resistance", SupportResistance)
