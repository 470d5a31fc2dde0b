"""Opening Range Breakout (DESIGN §4).

State: per symbol, the current session's opening range (high/low of the bars of the first
``opening_range_minutes``), the entry cut-off and flatten times, trades taken today, and whether the
previous primary bar closed beyond the range (so a signal is a fresh breakout).
Consumes: closed primary-timeframe bars; session opens.
Emits: a long :class:`Signal` when a bar after the range closes above the range high (short below
the low when ``allow_short``), before ``last_entry_time`` and the flatten time, at most
``max_trades_per_day`` entries a day. Stop: the range's other side, k x ATR or a percent; target:
close + ``reward_risk`` x (close - stop). Prices rounded to the cent.
Invariants: a bar is used only once closed; nothing carries over from one session to the next.

Its keys are :class:`OrbConfig` (``strategy: {name: orb, ...}``). ``on_bars`` is its own loop over
the step's bars rather than ``on_bar`` per bar (it runs for every bar of a backtest): a generator,
resumed after each signal's entry is placed, so it sees that entry as if the bars came one by one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import attrs

from vibe_core.calendar import Session
from vibe_core.config import StrategyConfig, hhmm, non_negative, one_of, positive
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.strategy.base import ALL_QUIET as _ALL_QUIET
from vibe_core.strategy.base import QuietBand
from vibe_core.strategy.registry import register
from vibe_core.types import NS_PER_MINUTE, Side, Timeframe

__all__ = ["OpeningRangeBreakout", "OrbConfig", "DayState"]

_INF = float("inf")


@attrs.frozen(kw_only=True)
class OrbConfig(StrategyConfig):
    """The ``strategy`` section of ``name: orb`` (DESIGN §4 defaults)."""

    name: str = "orb"
    opening_range_minutes: int = attrs.field(default=15, validator=positive)
    last_entry_time: str = attrs.field(default="15:00", validator=hhmm)
    reward_risk: float = attrs.field(default=2.0, validator=positive)
    max_trades_per_day: int = attrs.field(default=1, validator=non_negative)
    allow_short: bool = False
    stop_type: str = attrs.field(default="range", validator=one_of("range", "atr", "percent"))
    atr_period: int = attrs.field(default=14, validator=positive)
    atr_multiplier: float = attrs.field(default=1.0, validator=positive)
    stop_percent: float = attrs.field(default=0.01, validator=positive)


@attrs.define
class DayState:
    range_end: int  #: ns: bars that close at or before this build the range
    #: ns: a bar closing at or after this never signals: the earlier of one ns past
    #: ``last_entry_time`` and the flatten time, and 0 once the day can signal no more
    #: (``max_trades_per_day`` taken, or no opening range)
    until: int
    high: float = 0.0  #: valid once range_bars > 0
    low: float = 0.0
    range_bars: int = 0
    trades: int = 0
    above: bool = False  #: previous primary bar closed above the range high
    below: bool = False


@attrs.define
class OpeningRangeBreakout:
    config_class: ClassVar[type[OrbConfig]] = OrbConfig

    config: OrbConfig
    primary: Timeframe = Timeframe.M5
    days: dict[str, DayState] = attrs.Factory(dict)
    name: str = "orb"
    _primary_ns: int = attrs.field(init=False, default=0)
    #: the days not over yet (no bar has ended at or after their ``until``), the ones ``on_bars``
    #: looks at: an over day's symbol costs one lookup; a cache of ``days``, pruned as bars come
    _live: dict[str, DayState] = attrs.field(init=False, factory=dict, eq=False)
    _atr: IndicatorSpec = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._primary_ns = self.primary.ns
        self._atr = IndicatorSpec(kind="atr", period=self.config.atr_period, timeframe=self.primary)
        self._live = dict(self.days)

    @classmethod
    def from_config(cls, config: OrbConfig) -> OpeningRangeBreakout:
        return cls(config=config, name=config.tag)

    def required_indicators(self) -> list[IndicatorSpec]:
        if self.config.stop_type != "atr":
            return []
        return [self._atr]

    def on_session_open(self, symbol: str, session: Session) -> None:
        cfg = self.config
        last_entry = session.local_time_ns(cfg.last_entry_time)
        flatten_at = session.close - cfg.flatten_minutes_before_close * NS_PER_MINUTE
        day = self.days[symbol] = DayState(
            range_end=session.open + cfg.opening_range_minutes * NS_PER_MINUTE,
            until=min(last_entry + 1, flatten_at) if cfg.max_trades_per_day > 0 else 0,
        )
        self._live[symbol] = day

    def opening_range_end(self, symbol: str) -> int | None:
        """When ``symbol``'s opening range ends today (the feed gate refuses an entry built on a
        range a feed gap left incomplete: :mod:`vibe_core.feedgate`)."""
        day = self.days.get(symbol)
        return None if day is None else day.range_end

    def on_entry(self, symbol: str) -> None:
        day = self.days.get(symbol)
        if day is not None:
            day.trades += 1
            if day.trades >= self.config.max_trades_per_day:
                day.until = 0

    def on_bars(
        self, bars: Sequence[Bar], indicators: IndicatorBank, position: Callable[[str], int]
    ) -> Iterator[Signal] | tuple[()]:
        if not self._live:  # every day is over until the next session opens
            return ()
        return self._scan(bars, indicators, position)

    def _scan(
        self, bars: Sequence[Bar], indicators: IndicatorBank, position: Callable[[str], int]
    ) -> Iterator[Signal]:
        """The breakouts among ``bars``; resumed after each one's entry is placed (:meth:`on_entry`)."""
        live = self._live
        primary = self.primary
        shorts = self.config.allow_short
        last_ts: int | None = None
        end = 0  # bars closing together share their open: their end is computed once
        for bar in bars:
            day = live.get(bar.symbol)
            if day is None or bar.timeframe is not primary:
                continue
            ts = bar.ts
            if ts != last_ts:
                last_ts = ts
                end = ts + self._primary_ns
            if end <= day.range_end:
                if day.range_bars == 0 or bar.high > day.high:
                    day.high = bar.high
                if day.range_bars == 0 or bar.low < day.low:
                    day.low = bar.low
                day.range_bars += 1
                continue
            if end >= day.until:  # and for the rest of the day: the side no longer matters
                del live[bar.symbol]
                continue
            if day.range_bars == 0:  # no bar inside the range window (data gap): no range, no trade
                day.until = 0
                continue
            # above/below: this close is beyond the range; a signal needs the previous one not to be
            # (written as branches: a close inside the range, the common case, costs two tests)
            close = bar.close
            if close > day.high:
                if day.above:
                    continue
                day.above, day.below = True, False
                side = Side.BUY
            elif close < day.low:
                if not shorts:  # (only a short reads the side below: longs need a fresh close above)
                    day.above = False
                    continue
                if day.below:
                    continue
                day.above, day.below = False, True
                side = Side.SELL
            else:
                if day.above or day.below:
                    day.above = day.below = False
                continue
            if position(bar.symbol) == 0:
                signal = self._signal(bar, side, day, indicators)
                if signal is not None:
                    yield signal

    def _signal(self, bar: Bar, side: Side, day: DayState, indicators: IndicatorBank) -> Signal | None:
        cfg = self.config
        close = bar.close
        sign = side.sign
        if cfg.stop_type == "range":
            stop = day.low if side is Side.BUY else day.high
        elif cfg.stop_type == "atr":
            atr = indicators.value(bar.symbol, self._atr.key)
            if atr is None:
                return None
            stop = close - sign * cfg.atr_multiplier * atr
        else:
            stop = close * (1 - sign * cfg.stop_percent)
        stop = round(stop, 2)
        risk = (close - stop) * sign
        if risk <= 0:
            return None
        target = round(close + sign * cfg.reward_risk * risk, 2)
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + self._primary_ns,
            side=side,
            price=close,
            stop=stop,
            target=target,
            strategy=self.name,
            range_high=day.high,
            range_low=day.low,
        )

    def quiet_band(self, symbol: str) -> QuietBand:
        """Which closed bars of ``symbol`` change nothing here (see :data:`QuietBand`): before the
        range ends none are quiet (they build it, even on a day that takes no entry); then the
        range (or the side of it the last close was on) until the day can signal no more, and
        every bar after that."""
        day = self._live.get(symbol)
        if day is None:
            return _ALL_QUIET
        if day.until == 0:  # no more entries today; the range bars still build the range
            return (-_INF, _INF, day.range_end, _ALL_QUIET[3])
        if day.range_bars == 0:  # a bar after the range window ends the day (no range): not quiet
            return (_INF, -_INF, day.range_end, day.until)
        if day.above:  # a close at or below the high resets the side
            return (math.nextafter(day.high, _INF), _INF, day.range_end, day.until)
        if day.below:
            return (-_INF, math.nextafter(day.low, -_INF), day.range_end, day.until)
        if not self.config.allow_short:  # (a close below the range changes nothing without shorts)
            return (-_INF, day.high, day.range_end, day.until)
        return (day.low, day.high, day.range_end, day.until)

    def snapshot(self) -> dict[str, Any]:
        return {sym: attrs.asdict(day) for sym, day in self.days.items()}

    @classmethod
    def restore(cls, config: OrbConfig, data: dict[str, Any]) -> OpeningRangeBreakout:
        strategy = cls.from_config(config)
        strategy.days = {sym: DayState(**day) for sym, day in data.items()}
        strategy._live = dict(strategy.days)
        return strategy


register("orb", OpeningRangeBreakout)
