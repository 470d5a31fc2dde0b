"""Trend pullback to the 5m EMA, confirmed on 15m: ``strategy: {name: ema_pullback}``.

State: per symbol, the current session's entry window (first and last bar close that may signal)
and the entries taken today.
Consumes: closed 5m bars (the 15m trend is read from the indicator bank); session opens; entries.
Emits: a :class:`Signal` at the close of a 5m bar ``B`` when, for a long (``allow_short``
mirrors every comparison for a short):

1. window: ``B`` closes at or after the open + ``start_minutes_after_open`` (30: 10:00), at or
   before ``last_entry_time`` (15:00 New York), and before the flatten time;
2. 15m trend: the last closed 15m close is above EMA(``ema_period``) of 15m closes, and that EMA
   rose at its last bar;
3. 5m trend: EMA(``ema_period``) of 5m closes rose at ``B``;
4. pullback: ``B`` touched the 5m EMA (low <= EMA, the EMA including ``B``), closed back above it,
   and closed above its open;
5. the symbol is flat and fewer than ``max_trades_per_day`` (1) entries were placed today.

Entry: at ``B``'s close (a market order: the next bar's open). Stop: ``B``'s low less
``stop_buffer_pct`` (0.1%) of it; target: close + ``reward_risk`` (2) x (close - stop). Prices
rounded to the cent; no signal when the stop is not below the close.
Invariants: reads only closed bars and warm indicators (no signal while an EMA warms up);
nothing but the trade count carries within a day, nothing from one session to the next.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from vibe_core.calendar import Session
from vibe_core.config import StrategyConfig, fraction, hhmm, non_negative, positive
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.strategy.base import BarStrategy
from vibe_core.strategy.registry import register
from vibe_core.types import NS_PER_MINUTE, Side, Timeframe

__all__ = ["EmaPullback", "EmaPullbackConfig"]


@attrs.frozen(kw_only=True)
class EmaPullbackConfig(StrategyConfig):
    """The ``strategy`` section of ``name: ema_pullback``."""

    name: str = "ema_pullback"
    ema_period: int = attrs.field(default=20, validator=positive)
    start_minutes_after_open: int = attrs.field(default=30, validator=non_negative)
    last_entry_time: str = attrs.field(default="15:00", validator=hhmm)
    reward_risk: float = attrs.field(default=2.0, validator=positive)
    stop_buffer_pct: float = attrs.field(default=0.001, validator=fraction)
    max_trades_per_day: int = attrs.field(default=1, validator=non_negative)
    allow_short: bool = False


class EmaPullback(BarStrategy[EmaPullbackConfig]):
    config_class: ClassVar[type[StrategyConfig]] = EmaPullbackConfig

    def __init__(self, config: EmaPullbackConfig) -> None:
        super().__init__(config)
        p = config.ema_period
        self.ema_5m = IndicatorSpec(kind="ema", period=p, timeframe=Timeframe.M5)
        self.ema_15m = IndicatorSpec(kind="ema", period=p, timeframe=Timeframe.M15)
        self.close_15m = IndicatorSpec(kind="sma", period=1, timeframe=Timeframe.M15)  # the last 15m close

    def required_indicators(self) -> list[IndicatorSpec]:
        return [self.ema_5m, self.ema_15m, self.close_15m]

    def on_session_open(self, symbol: str, session: Session) -> None:
        cfg = self.config
        flatten_at = session.close - cfg.flatten_minutes_before_close * NS_PER_MINUTE
        self.state[symbol] = {
            "from": session.open + cfg.start_minutes_after_open * NS_PER_MINUTE,
            "until": min(session.local_time_ns(cfg.last_entry_time) + 1, flatten_at),  # closes before
            "trades": 0,
        }

    def on_entry(self, symbol: str) -> None:
        day = self.state.get(symbol)
        if day is not None:
            day["trades"] += 1

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        day = self.state.get(bar.symbol)
        if bar.timeframe is not Timeframe.M5 or day is None or position != 0:
            return None
        end = bar.ts + Timeframe.M5.ns
        cfg = self.config
        if not day["from"] <= end < day["until"] or day["trades"] >= cfg.max_trades_per_day:
            return None
        values = self._values(bar.symbol, indicators)
        if values is None:
            return None
        ema_5m, prev_5m, ema_15m, prev_15m, close_15m = values
        up = close_15m > ema_15m and ema_15m > prev_15m and ema_5m > prev_5m
        if up and bar.low <= ema_5m < bar.close and bar.close > bar.open:
            return self._signal(bar, side_long=True)
        down = cfg.allow_short and close_15m < ema_15m and ema_15m < prev_15m and ema_5m < prev_5m
        if down and bar.high >= ema_5m > bar.close and bar.close < bar.open:
            return self._signal(bar, side_long=False)
        return None

    def _values(self, symbol: str, bank: IndicatorBank) -> tuple[float, float, float, float, float] | None:
        """The 5m EMA now and one bar ago, the 15m EMA now and one bar ago, the last 15m close."""
        ema_5m = bank.value(symbol, self.ema_5m.key)
        prev_5m = bank.value_at(symbol, self.ema_5m.key, 1)
        ema_15m = bank.value(symbol, self.ema_15m.key)
        prev_15m = bank.value_at(symbol, self.ema_15m.key, 1)
        close_15m = bank.value(symbol, self.close_15m.key)
        if ema_5m is None or prev_5m is None or ema_15m is None or prev_15m is None or close_15m is None:
            return None  # warming up
        return ema_5m, prev_5m, ema_15m, prev_15m, close_15m

    def _signal(self, bar: Bar, *, side_long: bool) -> Signal | None:
        cfg = self.config
        sign = 1 if side_long else -1
        extreme = bar.low if side_long else bar.high
        stop = round(extreme * (1 - sign * cfg.stop_buffer_pct), 2)
        risk = (bar.close - stop) * sign
        if risk <= 0:
            return None
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + Timeframe.M5.ns,
            side=Side.BUY if side_long else Side.SELL,
            price=bar.close,
            stop=stop,
            target=round(bar.close + sign * cfg.reward_risk * risk, 2),
            strategy=self.name,
        )

    def snapshot(self) -> Any:
        return {symbol: dict(day) for symbol, day in self.state.items()}


register("ema_pullback", EmaPullback)
