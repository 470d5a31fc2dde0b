"""Cases for the skip-equivalence properties: random markets, configs, user strategies, a comparison.

A backtest that skips the bars which cannot matter (``run_market(skip=True)``) must give exactly
what feeding every bar gives (``run_loop(iter_bars(market))``). This module draws the inputs that
stress that promise (missing bars, zero volume, whole sessions absent, price jumps through ranges,
stops and targets, early closes) and states "exactly": every record, every equity sample and the
saved engine state, compared as JSON-safe data so the first difference is named by its path.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
from hypothesis import strategies as st

from vibe_backtest.data import BarSeries
from vibe_backtest.loop import LoopResult
from vibe_backtest.sample import sample_market
from vibe_core.calendar import Session, SessionTable
from vibe_core.codec import unstructure
from vibe_core.config import PRESETS, Config, StrategyConfig, config_from_dict, positive
from vibe_core.engine import save_state
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal
from vibe_core.strategy import BarStrategy
from vibe_core.types import NS_PER_MINUTE, Side, Timeframe

__all__ = [
    "FIVE",
    "SYMBOLS",
    "session_days",
    "synthetic_markets",
    "sample_markets",
    "configs",
    "outcome",
    "series_of",
    "assert_same",
    "stats",
    "FirstUpBar",
    "EveryBar",
    "LevelBreak",
]

FIVE = Timeframe.M5.ns
SYMBOLS = ("AAPL", "MSFT", "TSLA")
START = {"AAPL": 190.0, "MSFT": 420.0, "TSLA": 180.0, "NVDA": 120.0}
Market = dict[str, BarSeries]
#: the module's import path: user strategies are named by it (``strategy.name = path:Class``)
HERE = "tests.vibe_backtest.skip_cases"


def session_days(sessions: SessionTable, first: dt.date, last: dt.date) -> list[Session]:
    return [s for s in sessions.sessions if first <= s.date <= last]


# ---------------------------------------------------------------------------------------------
# markets


def _day_rows(
    session: Session,
    rng: np.random.Generator,
    start: float,
    *,
    step: Timeframe,
    grid: float,
    volatility: float,
    drift: float,
    jumps: Sequence[tuple[int, float]],
) -> tuple[np.ndarray, ...]:
    """One session of consistent OHLCV columns of ``step`` bars (integer volumes) with jumps.

    Prices are on a ``grid`` (a cent, or coarser so that bars often touch a level exactly). A jump
    ``(slot, pct)`` moves that bar's close, and every later price, by ``pct``: the bar's body spans
    the jump (its open is the previous close), as a news bar does.
    """
    n = int((session.close - session.open) // step.ns)
    scale = math.sqrt(step.ns / FIVE)
    rets = rng.normal(drift * scale**2, volatility * scale, size=n)
    for slot, pct in jumps:
        rets[slot % n] += math.log1p(pct)
    closes = start * np.exp(np.cumsum(rets))
    opens = np.concatenate([[start], closes[:-1]])
    wick = np.abs(rng.normal(0, volatility * scale, size=(2, n))) * closes

    def on_grid(x: np.ndarray) -> np.ndarray:
        return np.maximum(np.round(np.round(x / grid) * grid, 2), grid)

    opens, closes = on_grid(opens), on_grid(closes)
    highs = np.maximum(on_grid(np.maximum(opens, closes) + wick[0]), np.maximum(opens, closes))
    lows = np.minimum(on_grid(np.minimum(opens, closes) - wick[1]), np.minimum(opens, closes))
    x = np.linspace(-1, 1, n)
    vols = np.floor(100_000 * scale**2 * (0.6 + 1.4 * x**2) * rng.uniform(0.5, 1.5, size=n))
    ts = session.open + np.arange(n, dtype=np.int64) * step.ns
    return ts, opens, highs, lows, closes, vols


def _series(symbol: str, days: Sequence[Sequence[np.ndarray]], step: Timeframe = Timeframe.M5) -> BarSeries:
    """One symbol's BarSeries from its days' ``(ts, open, high, low, close, volume)`` columns."""
    if days:
        ts, o, h, lo, c, v = (np.concatenate(parts) for parts in zip(*days, strict=True))
    else:
        ts, o, h, lo, c, v = np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(5))
    return BarSeries(
        symbol=symbol, timeframe=step, source="test", ts=ts, open=o, high=h, low=lo, close=c, volume=v
    )


def series_of(bars: Sequence[Bar]) -> BarSeries:
    """The BarSeries of one symbol's bars (in time order)."""
    cols = [np.array([getattr(b, k) for b in bars]) for k in ("ts", "open", "high", "low", "close", "volume")]
    return _series(bars[0].symbol, [tuple(cols)], bars[0].timeframe)


@st.composite
def _holes(draw: st.DrawFn, n: int) -> np.ndarray:
    """A keep-mask of ``n`` slots: some single bars missing, maybe a block, maybe the day's end."""
    keep = np.ones(n, dtype=bool)
    for slot in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        keep[slot] = False
    if draw(st.integers(0, 3)) == 0:
        start = draw(st.integers(0, n - 1))
        keep[start : start + draw(st.integers(2, 15))] = False
    if draw(st.integers(0, 7)) == 0:  # the feed stops early that day
        keep[draw(st.integers(1, n - 1)) :] = False
    return keep


def _extended_bar(session: Session, step: Timeframe, before: bool, price: float) -> tuple[np.ndarray, ...]:
    """One bar outside the regular session (a file loaded without a calendar keeps such bars)."""
    ts = session.open - 6 * step.ns if before else session.close + step.ns
    return tuple(np.array([x]) for x in (ts, price, price + 0.05, price - 0.05, price, 500.0))


JUMPS = st.sampled_from([-0.06, -0.03, -0.015, 0.015, 0.03, 0.06])


@st.composite
def synthetic_markets(draw: st.DrawFn, days: Sequence[Session]) -> dict[str, BarSeries]:
    """1-3 symbols over 1-4 consecutive sessions of ``days``, with every kind of hole and jump.

    Per symbol and day: missing bars (single, a block, the day's tail, or the whole day), zero
    volume bars, jumps of 1.5-6% inside the day and opening gaps; a session may be absent for the
    whole market (a gap in time). Symbols come in a drawn order (ties merge in that order). Now
    and then the bars are 1m (the core aggregates them) or a bar lies outside the session.
    """
    n_days = draw(st.integers(1, 4))
    first = draw(st.integers(0, len(days) - n_days))
    chosen = list(days[first : first + n_days])
    if n_days >= 3 and draw(st.integers(0, 3)) == 0:
        del chosen[draw(st.integers(1, n_days - 2))]  # no data at all that session
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
    step = Timeframe.M1 if draw(st.integers(0, 5)) == 0 else Timeframe.M5
    grid = draw(st.sampled_from([0.01, 0.01, 0.1, 0.5]))
    per_bar = FIVE // step.ns
    market: dict[str, BarSeries] = {}
    for sym in symbols:
        price = START[sym]
        cols: list[tuple[np.ndarray, ...]] = []
        for session in chosen:
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            price *= 1 + draw(st.sampled_from([0.0, 0.0, 0.01, -0.01, 0.04, -0.05]))
            jumps = draw(st.lists(st.tuples(st.integers(0, 80), JUMPS), max_size=3))
            day = _day_rows(
                session,
                rng,
                round(price, 2),
                step=step,
                grid=grid,
                volatility=draw(st.sampled_from([0.0005, 0.001, 0.002, 0.004])),
                drift=draw(st.sampled_from([-0.0005, 0.0, 0.0, 0.0005, 0.001])),
                jumps=[(slot * per_bar, pct) for slot, pct in jumps],
            )
            price = float(day[4][-1])
            ts, o, h, lo, c, v = day
            v = v.copy()
            for slot in draw(st.lists(st.integers(0, len(ts) - 1), max_size=4)):
                v[slot] = 0.0
            if draw(st.integers(0, 9)) == 0:
                continue  # this symbol has no bar this session
            keep = draw(_holes(len(ts)))
            today = [col[keep] for col in (ts, o, h, lo, c, v)]
            if draw(st.integers(0, 15)) == 0:
                before = draw(st.booleans())
                extra = _extended_bar(session, step, before, round(price, 2))
                pairs = zip(extra, today, strict=True)
                today = [np.concatenate((x, y) if before else (y, x)) for x, y in pairs]
            cols.append(tuple(today))
        market[sym] = _series(sym, cols, step)
    return draw(_trimmed(market, chosen[0], chosen[-1]))


@st.composite
def _trimmed(
    draw: st.DrawFn, market: dict[str, BarSeries], first: Session, last: Session
) -> dict[str, BarSeries]:
    """Now and then the data starts after the first session's open or ends before the last's close."""
    start = end = None
    if draw(st.integers(0, 5)) == 0:
        start = first.open + draw(st.integers(1, 60)) * Timeframe.M5.ns
    if draw(st.integers(0, 5)) == 0:
        end = last.close - draw(st.integers(1, 60)) * Timeframe.M5.ns
    if start is None and end is None:
        return market
    return {sym: series.between(start, end) for sym, series in market.items()}


@st.composite
def sample_markets(draw: st.DrawFn, sessions: SessionTable) -> dict[str, BarSeries]:
    """The project's sample market (trend and range days, volume bursts), a few sessions, with holes."""
    symbols = draw(
        st.lists(
            st.sampled_from(("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")), min_size=1, max_size=4, unique=True
        )
    )
    end = dt.date(2024, 7, 26) - dt.timedelta(days=draw(st.integers(0, 40)))
    market = sample_market(
        symbols, sessions=sessions, n_sessions=draw(st.integers(1, 4)), end=end, seed=draw(st.integers(0, 50))
    )
    out: dict[str, BarSeries] = {}
    for sym, series in market.items():
        keep = draw(_holes(len(series))) if len(series) else np.ones(0, dtype=bool)
        volume = series.volume.copy()
        for slot in draw(st.lists(st.integers(0, max(len(series) - 1, 0)), max_size=3)):
            if len(series):
                volume[slot] = 0.0
        out[sym] = attrs.evolve(
            series,
            ts=series.ts[keep],
            open=series.open[keep],
            high=series.high[keep],
            low=series.low[keep],
            close=series.close[keep],
            volume=volume[keep],
        )
    return out


# ---------------------------------------------------------------------------------------------
# strategies written as a user would (no ``quiet_band`` unless said)


@attrs.frozen(kw_only=True)
class FirstUpConfig(StrategyConfig):
    stop_pct: float = attrs.field(default=0.01, validator=positive)


class FirstUpBar(BarStrategy[FirstUpConfig]):
    """Buy the first 5m bar of the day that closes up after 10:00 (as in test_user_strategy.py)."""

    config_class: ClassVar[type[StrategyConfig]] = FirstUpConfig

    def on_session_open(self, symbol: str, session: Session) -> None:
        self.state[symbol] = {"from": session.open + 30 * NS_PER_MINUTE, "done": False}

    def on_entry(self, symbol: str) -> None:
        self.state[symbol]["done"] = True

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        day = self.state.get(bar.symbol)
        if bar.timeframe is not Timeframe.M5 or day is None or day["done"] or position != 0:
            return None
        if bar.ts + FIVE < day["from"] or bar.close <= bar.open:
            return None
        pct = self.config.stop_pct  # type: ignore[attr-defined]
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + FIVE,
            side=Side.BUY,
            price=bar.close,
            stop=round(bar.close * (1 - pct), 2),
            target=round(bar.close * (1 + 2 * pct), 2),
            strategy=self.name,
        )


@attrs.frozen(kw_only=True)
class EveryBarConfig(StrategyConfig):
    stop_pct: float = attrs.field(default=0.004, validator=positive)


class EveryBar(BarStrategy[EveryBarConfig]):
    """Remembers every bar (count, last close per timeframe): a bar skipped shows in its snapshot.

    Sells short after three falling 15m closes in a row, buys after three rising ones.
    """

    config_class: ClassVar[type[StrategyConfig]] = EveryBarConfig

    def required_indicators(self) -> list[IndicatorSpec]:
        return [IndicatorSpec(kind="ema", period=3, timeframe=Timeframe.M15)]  # (15m bars are tracked)

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        key = f"{bar.symbol}/{bar.timeframe.label}"
        mem = self.state.setdefault(key, {"n": 0, "closes": []})
        mem["n"] += 1
        mem["closes"] = [*mem["closes"][-3:], bar.close]
        c = mem["closes"]
        if bar.timeframe is not Timeframe.M15 or len(c) < 4 or position != 0:
            return None
        up = c[0] < c[1] < c[2] < c[3]
        down = c[0] > c[1] > c[2] > c[3]
        if not (up or down):
            return None
        sign = 1 if up else -1
        pct = self.config.stop_pct  # type: ignore[attr-defined]
        stop = round(bar.close * (1 - sign * pct), 2)
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + bar.timeframe.ns,
            side=Side.BUY if up else Side.SELL,
            price=bar.close,
            stop=stop,
            target=round(bar.close * (1 + sign * 2 * pct), 2),
            strategy=self.name,
        )


@attrs.frozen(kw_only=True)
class LevelConfig(StrategyConfig):
    above_pct: float = attrs.field(default=0.003, validator=positive)


class LevelBreak(BarStrategy[LevelConfig]):
    """A user strategy that states its trigger: buy when a 5m bar closes above the day's first
    5m high plus ``above_pct``; quiet for closes at or below that level until 14:00, quiet
    everywhere once done."""

    config_class: ClassVar[type[StrategyConfig]] = LevelConfig

    def on_session_open(self, symbol: str, session: Session) -> None:
        self.state[symbol] = {
            "level": None,
            "since": 0,
            "until": session.local_time_ns("14:00"),
            "done": False,
        }

    def on_entry(self, symbol: str) -> None:
        self.state[symbol]["done"] = True

    def quiet_band(self, symbol: str) -> tuple[float, float, int, int] | None:
        """``(low, high, after, until)``: bars ending in ``(after, until)`` closing in ``[low, high]``
        change nothing."""
        day = self.state.get(symbol)
        if day is None:
            return None
        if day["done"]:
            return (-math.inf, math.inf, -(1 << 62), 1 << 62)
        if day["level"] is None:
            return None
        return (-math.inf, day["level"], day["since"], day["until"])

    def on_bar(self, bar: Bar, indicators: IndicatorBank, position: int) -> Signal | None:
        day = self.state.get(bar.symbol)
        if day is None or day["done"] or bar.timeframe is not Timeframe.M5:
            return None
        if day["level"] is None:
            day["level"] = round(bar.high * (1 + self.config.above_pct), 2)  # type: ignore[attr-defined]
            day["since"] = bar.ts + FIVE
            return None
        if bar.ts + FIVE >= day["until"] or bar.close <= day["level"] or position != 0:
            return None
        return Signal(
            symbol=bar.symbol,
            ts=bar.ts + FIVE,
            side=Side.BUY,
            price=bar.close,
            stop=round(bar.close * 0.99, 2),
            target=round(bar.close * 1.02, 2),
            strategy=self.name,
        )


# ---------------------------------------------------------------------------------------------
# configs


def _orb(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": "orb",
        "opening_range_minutes": draw(st.sampled_from([5, 15, 30])),
        "last_entry_time": draw(st.sampled_from(["11:00", "15:00", "15:55"])),
        "reward_risk": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
        "max_trades_per_day": draw(st.integers(0, 3)),
        "allow_short": draw(st.sampled_from([True, True, False])),
        "stop_type": draw(st.sampled_from(["range", "atr", "percent"])),
        "atr_period": draw(st.sampled_from([3, 14])),
        "atr_multiplier": draw(st.sampled_from([0.5, 1.0, 2.0])),
        "stop_percent": draw(st.sampled_from([0.002, 0.01])),
    }


def _ema(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": "ema_pullback",
        "ema_period": draw(st.sampled_from([3, 5, 10, 20])),
        "start_minutes_after_open": draw(st.sampled_from([0, 30])),
        "max_trades_per_day": draw(st.integers(0, 3)),
        "allow_short": draw(st.sampled_from([True, True, False])),
        "reward_risk": draw(st.sampled_from([1.0, 2.0])),
    }


STRATEGY_KINDS = ("orb", "orb", "orb", "ema_pullback", "multi", "first_up", "every_bar", "level_break")


@st.composite
def configs(draw: st.DrawFn, symbols: Sequence[str], kind: str | None = None) -> Config:
    """A valid config for ``symbols``: every preset, validation on and off, tiny loss halts.

    Sometimes the config names a symbol the market has no bar of (stale all day).
    """
    symbols = list(symbols)
    if draw(st.integers(0, 7)) == 0:
        symbols.append("NVDA")
    if draw(st.integers(0, 3)) == 0:  # the config lists the symbols in another order than the data
        symbols = draw(st.permutations(symbols))
    kind = draw(st.sampled_from(STRATEGY_KINDS)) if kind is None else kind
    if kind == "orb":
        strategy = _orb(draw)
    elif kind == "ema_pullback":
        strategy = _ema(draw)
    elif kind == "multi":
        cut = draw(st.integers(1, max(len(symbols) - 1, 1)))
        legs = [{**_orb(draw), "symbols": symbols[:cut]}]
        if symbols[cut:]:
            legs.append({**_ema(draw), "symbols": symbols[cut:]})
        strategy = {"name": "multi", "strategies": legs}
    elif kind == "first_up":
        strategy = {"name": f"{HERE}:FirstUpBar", "stop_pct": draw(st.sampled_from([0.002, 0.01]))}
    elif kind == "every_bar":
        strategy = {"name": f"{HERE}:EveryBar"}
    else:
        strategy = {"name": f"{HERE}:LevelBreak", "above_pct": draw(st.sampled_from([0.001, 0.003, 0.01]))}
    strategy["flatten_minutes_before_close"] = draw(st.sampled_from([0, 5, 30]))
    validation: dict[str, Any] = {"enabled": draw(st.booleans())}
    if validation["enabled"] and draw(st.booleans()):
        validation |= {
            "trend": draw(st.booleans()),
            "volume": draw(st.booleans()),
            "support_resistance": draw(st.booleans()),
            "ema_period": draw(st.sampled_from([3, 8, 20])),
            "volume_multiplier": draw(st.sampled_from([0.5, 1.0, 1.5])),
            "volume_sma_period": draw(st.sampled_from([3, 20])),
            "sr_atr_timeframe": draw(st.sampled_from(["5m", "15m", "1h"])),
            "sr_atr_period": draw(st.sampled_from([3, 14])),
        }
    exchange: dict[str, Any] = {"preset": draw(st.sampled_from(sorted(PRESETS)))}
    if draw(st.integers(0, 2)) == 0:  # thin liquidity: partial fills of big orders
        exchange |= {"partial_fills": True, "partial_probability": 1.0, "max_participation": 0.002}
    if draw(st.integers(0, 3)) == 0:
        exchange["partial_fills"] = draw(st.booleans())
        lo = draw(st.sampled_from([0, 500, 5_000, 400_000]))  # (400 s: active bars later)
        exchange["fill_delay_ms_min"] = lo
        exchange["fill_delay_ms_max"] = lo + draw(st.sampled_from([0, 1_500, 60_000]))
    return config_from_dict(
        {
            "symbols": symbols,
            "seed": draw(st.integers(0, 1_000)),
            "indicator_window": draw(st.sampled_from([8, 256])),
            "initial_capital": draw(st.sampled_from([10_000.0, 250_000.0, 5_000_000.0])),
            "strategy": strategy,
            "validation": validation,
            "risk": {
                "risk_per_trade_pct": draw(st.sampled_from([0.01, 0.05, 0.2])),
                "max_position_pct": draw(st.sampled_from([0.2, 0.5, 1.0])),
                "max_open_positions": draw(st.sampled_from([1, 2, 5])),
                "max_gross_exposure_pct": draw(st.sampled_from([0.3, 1.0])),
                "daily_loss_halt_pct": draw(st.sampled_from([0.0003, 0.001, 0.003, 0.03])),
                "flatten_on_halt": draw(st.booleans()),
            },
            "exchange": exchange,
            "feed": {"stale_seconds": draw(st.sampled_from([120.0, 120.0, 900.0]))},
        }
    )


# ---------------------------------------------------------------------------------------------
# outcome and comparison

RECORDS = ("orders", "order_status", "rejections", "fills", "trades", "signals", "halts", "cancels", "gaps")
SERIES = ("equity_ts", "equity_cash", "equity_value", "exposed", "daily_ts", "daily_equity")


def outcome(result: LoopResult) -> dict[str, Any]:
    """Everything a run produced, as JSON-safe data: records, equity and daily series, saved state."""
    rec = result.recorder
    out: dict[str, Any] = {name: unstructure(getattr(rec, name)) for name in RECORDS}
    for name in SERIES:
        out[name] = np.asarray(getattr(result, name)).tolist()
    out["bars_processed"] = result.bars_processed
    out["state"] = json.loads(json.dumps(save_state(result.state)))
    return out


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where ``a`` and ``b`` first differ (``path: a != b``), or ``None`` when they are equal."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'first' if key in a else 'second'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found is not None:
                return found
        return None  # (key order is not compared: a restored state may list keys in another order)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        if len(a) != len(b):
            extra = a[len(b)] if len(a) > len(b) else b[len(a)]
            return f"{path}: {len(a)} items != {len(b)} items (first extra: {extra!r})"
        return None
    if _same_value(a, b):
        return None
    return f"{path}: {a!r} != {b!r}"


def assert_same(expected: dict[str, Any], got: dict[str, Any], what: str) -> None:
    if json.dumps(expected, sort_keys=True) == json.dumps(got, sort_keys=True):
        return  # (the fast path: equal text is equal data, NaN included)
    found = first_difference(expected, got)
    assert found is None, f"{what}: first difference at {found}"


def stats(result: LoopResult) -> dict[str, int]:
    """What a run exercised: trades, fills, partial fills, halts, vetoes, gaps, rejections..."""
    rec = result.recorder
    partial = sum(
        1 for o in rec.orders if sum(f.qty for f in rec.fills if f.order_id == o.id) not in (0, o.qty)
    )
    return {
        "trades": len(rec.trades),
        "fills": len(rec.fills),
        "partial": partial,
        "halts": len(rec.halts),
        "vetoes": sum(1 for s in rec.signals if s.vetoes),
        "gaps": len(rec.gaps),
        "rejections": len(rec.rejections),
        "cancels": len(rec.cancels),
        "shorts": sum(1 for t in rec.trades if t.side is Side.SELL),
    }
