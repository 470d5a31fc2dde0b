"""The multi-timeframe validator: runs the enabled rules over 15m and 1h state for each signal.

State: per symbol, the recent closed 1h bars (for swing points, as many as a rule reads) and the
source of the 5m volume history (volume rules compare a bar only with bars of the same source).
Consumes: closed bars (via :meth:`Validator.on_bar`), signals (via :meth:`Validator.evaluate`).
Emits: a verdict ``(accepted, reasons)``; the engine turns it into a ``SignalEvaluated`` action.
Invariants: reads only closed bars; with ``validation.enabled = false`` every signal passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from vibe_core.config import ValidationConfig
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.indicators.rows import Row
from vibe_core.models import Signal
from vibe_core.types import Timeframe
from vibe_core.validation.registry import Rule, RuleContext, rule_types
from vibe_core.validation.rules import Swings

__all__ = ["Validator"]


@attrs.define
class Validator:
    config: ValidationConfig
    rules: list[Rule] = attrs.Factory(list)
    swings: dict[str, Swings] = attrs.Factory(dict)
    volume_source: dict[str, list[Any]] = attrs.Factory(dict)  #: symbol -> [source, bars seen from it]
    last_volume: dict[str, float] = attrs.Factory(dict)
    close_1h: dict[str, float] = attrs.Factory(dict)
    history_1h: int = 0  #: 1h bars kept per symbol: the most any rule reads

    @classmethod
    def from_config(cls, config: ValidationConfig) -> Validator:
        """The enabled rules of ``config``, in registration order."""
        types = rule_types()
        rules = [types[name](rule) for name, rule in config.rules if rule.enabled]
        return cls(config=config, rules=rules, history_1h=max((r.history_1h for r in rules), default=0))

    def required_indicators(self) -> list[IndicatorSpec]:
        """The specs the enabled rules read (none when validation is off)."""
        if not self.config.enabled:
            return []
        return [spec for rule in self.rules for spec in rule.specs]

    def on_bar(self, bar: Bar) -> None:
        self.on_bars((bar,))

    def on_bars(self, bars: Iterable[Bar]) -> None:
        """Closed bars: 5m ones give the breakout volume and its source, 1h ones the swing points."""
        last_volume, volume_source = self.last_volume, self.volume_source
        m5, h1 = Timeframe.M5, Timeframe.H1  # (read once: this loop sees every closed bar)
        for bar in bars:
            tf = bar.timeframe
            if tf is m5:
                symbol = bar.symbol
                last_volume[symbol] = bar.volume
                seen = volume_source.get(symbol)
                if seen is None or seen[0] != bar.source:
                    volume_source[symbol] = [bar.source, 1]
                else:
                    seen[1] += 1
            elif tf is h1:
                if self.history_1h:
                    sw = self.swings.get(bar.symbol)
                    if sw is None:
                        sw = self.swings[bar.symbol] = Swings.empty(self.history_1h)
                    sw.highs.append(bar.high)
                    sw.lows.append(bar.low)
                self.close_1h[bar.symbol] = bar.close

    def skip_m5(self, symbol: str, n: int, last_volume: float, source: str) -> None:
        """:meth:`on_bars` of ``n`` consecutive 5m bars of ``symbol`` from ``source``, the last with
        ``last_volume`` (the backtest loop's catch-up: a 5m bar leaves only these two traces)."""
        if n <= 0:
            return
        self.last_volume[symbol] = last_volume
        seen = self.volume_source.get(symbol)
        if seen is None or seen[0] != source:
            self.volume_source[symbol] = [source, n]
        else:
            seen[1] += n

    def skip_rows(self, groups: Iterable[tuple[str, Timeframe, Sequence[Row]]]) -> None:
        """:meth:`on_bars` of closed bars above 5m given as ``(symbol, timeframe, rows)``, each
        group's rows in time order (the backtest loop's catch-up: only 1h bars leave a trace,
        their range and close)."""
        h1 = Timeframe.H1
        for symbol, timeframe, rows in groups:
            if timeframe is not h1 or not rows:
                continue
            if self.history_1h:
                sw = self.swings.get(symbol)
                if sw is None:
                    sw = self.swings[symbol] = Swings.empty(self.history_1h)
                for row in rows:
                    sw.highs.append(row.high)
                    sw.lows.append(row.low)
            self.close_1h[symbol] = rows[-1].close

    def evaluate(self, signal: Signal, indicators: IndicatorBank) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(reasons, vetoes)``: every rule's verdict, and those of the rules that failed."""
        if not self.config.enabled:
            return ("validation off",), ()
        seen = self.volume_source.get(signal.symbol)
        ctx = RuleContext(
            indicators=indicators,
            swings=self.swings.get(signal.symbol),
            breakout_volume=self.last_volume.get(signal.symbol, 0.0),
            volume_source=None if seen is None else (seen[0], seen[1]),
            close_1h=self.close_1h.get(signal.symbol),
        )
        reasons = []
        vetoes = []
        for rule in self.rules:
            passed, reason = rule.check(signal, ctx)
            reasons.append(reason)
            if not passed:
                vetoes.append(reason)
        return tuple(reasons), tuple(vetoes)

    def snapshot(self) -> dict[str, Any]:
        return {
            "swings": {s: [list(sw.highs), list(sw.lows)] for s, sw in self.swings.items()},
            "volume_source": {s: list(v) for s, v in self.volume_source.items()},
            "last_volume": dict(self.last_volume),
            "close_1h": dict(self.close_1h),
        }

    @classmethod
    def restore(cls, config: ValidationConfig, data: dict[str, Any]) -> Validator:
        v = cls.from_config(config)
        for sym, (highs, lows) in data["swings"].items():
            sw = Swings.empty(v.history_1h)
            sw.highs.extend(highs)
            sw.lows.extend(lows)
            v.swings[sym] = sw
        v.volume_source = {s: list(x) for s, x in data["volume_source"].items()}
        v.last_volume = dict(data["last_volume"])
        v.close_1h = dict(data["close_1h"])
        return v
