"""What the backtest report shows, computed with numpy from the result's columns (no pandas).

Times here are naive New York wall-clock nanoseconds ("local ns"): the axis plotly draws and the
days the report groups by. The equity curve is aggregated per session above a size, the candles
keep only the days shown, so the report never walks every bar in Python. This module makes no
trading decision.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from vibe_backtest.arrow import arrow_cast, from_numpy, kernel, to_numpy
from vibe_backtest.tables import Table
from vibe_core.metrics import profit_factor

if TYPE_CHECKING:
    import pandas as pd

    from vibe_backtest.data import BarSeries

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

NY = "America/New_York"
MINUTE = 60_000_000_000
DAY = 86_400_000_000_000
SESSION_OPEN = (9 * 60 + 30) * MINUTE  #: 09:30 after local midnight
FIVE_MINUTES = 5 * MINUTE
NUMBER = re.compile(r"(?<![\w@.])\d+(?:\.\d+)?(?![A-Za-wyz\d])")  # 0.5x, 123.45, 5/21; not ema20@1h


# ---------------------------------------------------------------------------------------------
# Times


def local_ns(ns: Any, tz: str = NY) -> I64:
    """UTC ns -> naive wall-clock ns in ``tz`` (Arrow's zone database, vectorised)."""
    import pyarrow as pa

    values = np.ascontiguousarray(ns, dtype=np.int64)
    if not len(values):
        return values
    local = kernel("local_timestamp", from_numpy(values, pa.timestamp("ns", tz=tz)))
    return np.array(to_numpy(arrow_cast(local, pa.int64()), np.int64))


def labels(local: I64, unit: Literal["D", "m", "s"] = "m") -> list[str]:
    """``%Y-%m-%d %H:%M`` (unit ``m``), ``%Y-%m-%d %H:%M:%S`` (``s``) or ``%Y-%m-%d`` (``D``)."""
    text = np.datetime_as_string(np.asarray(local, dtype=np.int64).astype("datetime64[ns]"), unit=unit)
    return [t.replace("T", " ") for t in text.tolist()]


def day_date(day: int) -> dt.date:
    """A local day number (local ns // DAY) as a date."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def unique(values: I64) -> I64:
    """Sorted distinct values (``np.unique`` without options imports ``numpy.ma``: 25 ms)."""
    ordered = np.sort(np.asarray(values))
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def floor_minute(local: I64) -> I64:
    return local - np.mod(local, MINUTE)


def time_values(table: Table, name: str) -> I64:
    """A time column's UTC ns (empty for a missing or empty column)."""
    col = table.columns.get(name)
    if col is None or not len(col):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(col.values, dtype=np.int64)


def floats(table: Table, name: str) -> F64:
    col = table.columns.get(name)
    if col is None or not len(col):
        return np.zeros(0)
    if col.kind in ("float", "int", "bool"):
        return np.asarray(col.values, dtype=np.float64)
    return np.array([_number(v) for v in col.python()], dtype=np.float64)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def texts(table: Table, name: str) -> list[str]:
    """A column as strings (missing values as ``""``)."""
    col = table.columns.get(name)
    if col is None:
        return []
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in col.python()]


def bools(table: Table, name: str) -> npt.NDArray[np.bool_]:
    col = table.columns.get(name)
    if col is None or not len(col):
        return np.zeros(0, dtype=bool)
    return np.asarray([bool(v) for v in col.python()], dtype=bool)


# ---------------------------------------------------------------------------------------------
# Bars


@attrs.frozen
class LocalBars:
    """One symbol's OHLC on local ns, in time order."""

    t: I64
    open: F64
    high: F64
    low: F64
    close: F64

    def __len__(self) -> int:
        return len(self.t)

    def where(self, mask: npt.NDArray[np.bool_]) -> LocalBars:
        return LocalBars(self.t[mask], self.open[mask], self.high[mask], self.low[mask], self.close[mask])


def local_bars(bars: BarSeries | pd.DataFrame) -> LocalBars:
    """A :class:`BarSeries`, or a frame (a ``timestamp`` column or a datetime index; naive times are
    taken as New York wall clock), as :class:`LocalBars`."""
    from vibe_backtest.data import BarSeries

    if isinstance(bars, BarSeries):
        return LocalBars(local_ns(bars.ts), bars.open, bars.high, bars.low, bars.close)
    import pandas as pd

    times = pd.DatetimeIndex(bars["timestamp"] if "timestamp" in bars.columns else bars.index)
    if times.tz is not None:
        t = local_ns(times.as_unit("ns").asi8)
    else:
        t = np.asarray(times.as_unit("ns").asi8, dtype=np.int64)
    cols = [np.asarray(bars[c].to_numpy(dtype=np.float64)) for c in ("open", "high", "low", "close")]
    return LocalBars(t, *cols)


def to_five_minutes(bars: LocalBars) -> LocalBars:
    """1m bars aggregated to 5m bars (aligned to the 09:30 open); 5m bars unchanged."""
    if len(bars) < 2 or int(np.diff(bars.t).min()) >= FIVE_MINUTES:
        return bars
    slot = bars.t - np.mod(bars.t, FIVE_MINUTES)
    order = np.argsort(slot, kind="stable")
    slot = slot[order]
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    ends = np.r_[starts[1:], len(slot)] - 1
    return LocalBars(
        slot[starts],
        bars.open[order][starts],
        np.maximum.reduceat(bars.high[order], starts),
        np.minimum.reduceat(bars.low[order], starts),
        bars.close[order][ends],
    )


# ---------------------------------------------------------------------------------------------
# Equity


@attrs.frozen
class EquityPoints:
    t: I64  #: local ns (midnights when daily)
    equity: F64
    drawdown: F64  #: <= 0
    daily: bool


def equity_points(ns: I64, values: F64, initial_capital: float, max_points: int) -> EquityPoints:
    """Equity and drawdown from the running peak (the initial capital included); above
    ``max_points`` samples one point per session: the last equity, the deepest drawdown."""
    values = np.asarray(values, dtype=np.float64)
    peaks = np.maximum.accumulate(np.concatenate([[float(initial_capital)], values]))[1:]
    drawdown = values / peaks - 1.0
    local = local_ns(ns)
    if len(values) <= max_points:
        return EquityPoints(local, values, drawdown, False)
    days, inverse = np.unique(local // DAY, return_inverse=True)
    last = np.full(len(days), -1, dtype=np.int64)
    np.maximum.at(last, inverse, np.arange(len(values)))
    deepest = np.full(len(days), np.inf)
    np.minimum.at(deepest, inverse, drawdown)
    return EquityPoints(days * DAY, values[last], deepest, True)


# ---------------------------------------------------------------------------------------------
# Tables: (index key, row values) lists


Rows = list[tuple[str, list[Any]]]


def symbol_rows(symbols: Sequence[str], pnl: F64) -> Rows:
    """Per symbol: trades, win rate (pnl > 0), total and average pnl, profit factor."""
    rows: Rows = []
    names = np.asarray(list(symbols), dtype=object)
    for symbol in sorted(set(symbols)):
        p = pnl[names == symbol]
        rows.append(
            (
                str(symbol),
                [len(p), float(np.mean(p > 0)), float(p.sum()), float(p.mean()), profit_factor(p.tolist())],
            )
        )
    return rows


def month_rows(exit_ns: I64, pnl: F64, equity_ns: I64, equity: F64, initial_capital: float) -> Rows:
    """Per New York month: trades closed, their pnl, the month's equity return (None: no equity)."""
    exits = _months(exit_ns)
    counts: dict[str, int] = {}
    sums: dict[str, float] = {}
    for month, p in zip(exits, pnl.tolist(), strict=True):
        counts[month] = counts.get(month, 0) + 1
        sums[month] = sums.get(month, 0.0) + p
    returns: dict[str, float] = {}
    if len(equity):
        code = local_ns(equity_ns).astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        ends = np.flatnonzero(np.r_[code[1:] != code[:-1], True])  # the last sample of a run
        names: list[str] = np.datetime_as_string(code[ends].astype("datetime64[M]")).tolist()
        last: dict[str, float] = {}
        for name, v in zip(names, np.asarray(equity, dtype=np.float64)[ends].tolist(), strict=True):
            last[name] = v
        previous = float(initial_capital)
        for month in sorted(last):
            returns[month] = last[month] / previous - 1.0
            previous = last[month]
    return [
        (m, [counts.get(m, 0), sums.get(m, 0.0), returns.get(m)]) for m in sorted(set(counts) | set(returns))
    ]


def _months(ns: I64) -> list[str]:
    """``YYYY-MM`` of each time, in New York."""
    month = local_ns(ns).astype("datetime64[ns]").astype("datetime64[M]")
    return np.datetime_as_string(month, unit="M").tolist() if len(month) else []


def signal_rows(symbols: Sequence[str], accepted: npt.NDArray[np.bool_]) -> Rows:
    """Per symbol (and ``all``): signals, accepted, vetoed."""
    names = np.asarray(list(symbols), dtype=object)
    rows: Rows = []
    for symbol in sorted(set(symbols)):
        mine = accepted[names == symbol]
        rows.append((str(symbol), [len(mine), int(mine.sum()), len(mine) - int(mine.sum())]))
    total, ok = len(accepted), int(accepted.sum())
    rows.append(("all", [total, ok, total - ok]))
    return rows


def _pattern(reason: str) -> str:
    return NUMBER.sub("#", reason.strip())


def _span(numbers: list[str]) -> str:
    """One number as written, or the smallest and largest as written (``0.53..1.49``)."""
    ordered = sorted(set(numbers), key=float)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}..{ordered[-1]}"


def _with_numbers(example: str, seen: list[list[str]]) -> str:
    """``example`` with each number replaced by the span of that number over ``seen``."""
    slots = iter(_span([numbers[i] for numbers in seen]) for i in range(len(seen[0])))
    return NUMBER.sub(lambda _match: next(slots), example.strip())


def _patterns(reasons: list[str]) -> list[str]:
    """:func:`_pattern` of each reason, in one regex pass over them joined by newlines (a newline
    is a boundary to ``NUMBER`` as the ends of a string are; a reason never holds one)."""
    stripped = [r.strip() for r in reasons]
    if any("\n" in r for r in stripped):
        return [NUMBER.sub("#", r) for r in stripped]
    return NUMBER.sub("#", "\n".join(stripped)).split("\n") if stripped else []


def veto_rows(
    accepted: npt.NDArray[np.bool_], reason_texts: Sequence[str], vetoes: bool, top: int = 10
) -> Rows:
    """The most common reasons among vetoed signals (see :func:`vibe_backtest.report.veto_reasons`):
    (reason with its numbers' ranges, [count, share])."""
    if not len(accepted):
        return []
    text = np.asarray(list(reason_texts), dtype=object)
    passes: set[str] = set()
    if not vetoes:
        passes = {_pattern(r) for t in text[accepted] for r in t.split(";") if r.strip()}
    split = [[r for r in item.split(";") if r.strip()] for item in text[~accepted]]
    distinct = list(dict.fromkeys(r for reasons in split for r in reasons))  # each parsed once
    pattern_of = dict(zip(distinct, _patterns(distinct), strict=True))
    examples: dict[str, str] = {}
    given: dict[str, list[str]] = {}  # pattern -> the reason each vetoed signal gave for it
    for reasons in split:
        mine: dict[str, str] = {}
        for reason in reasons:
            mine.setdefault(pattern_of[reason], reason)
        for pattern, reason in mine.items():
            if pattern not in passes:
                examples.setdefault(pattern, reason)
                given.setdefault(pattern, []).append(reason)
    vetoed = int((~accepted).sum())
    ranked = sorted(given.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    numbers: dict[str, list[str]] = {}  # only the shown reasons' numbers are needed
    rows: Rows = []
    for pattern, reasons in ranked:
        for reason in reasons:
            if reason not in numbers:
                numbers[reason] = NUMBER.findall(reason.strip())
        seen = [numbers[r] for r in reasons]
        rows.append((_with_numbers(examples[pattern], seen), [len(seen), len(seen) / vetoed]))
    return rows


# ---------------------------------------------------------------------------------------------
# Opening ranges and the candle chart's day views


def opening_ranges(
    bars: LocalBars, signal_t: I64, range_high: F64, range_low: F64, minutes: int
) -> dict[int, tuple[float, float]]:
    """Per local day number: the opening range (high, low) of one symbol, in day order.

    From the day's first signal with a finite range when there is one (what the strategy saw),
    else the bars of the first ``minutes`` after 09:30. ``signal_t`` in local ns.
    """
    ranges: dict[int, tuple[float, float]] = {}
    if len(bars):
        since = np.mod(bars.t, DAY)
        opening = (since >= SESSION_OPEN) & (since < SESSION_OPEN + minutes * MINUTE)
        days = bars.t[opening] // DAY
        if len(days):
            uniq, inverse = np.unique(days, return_inverse=True)
            highs = np.full(len(uniq), -np.inf)
            lows = np.full(len(uniq), np.inf)
            np.maximum.at(highs, inverse, bars.high[opening])
            np.minimum.at(lows, inverse, bars.low[opening])
            for day, hi, lo in zip(uniq.tolist(), highs.tolist(), lows.tolist(), strict=True):
                ranges[day] = (hi, lo)
    ok = np.isfinite(range_high) & np.isfinite(range_low)
    if ok.any():
        t, hi, lo = signal_t[ok], range_high[ok], range_low[ok]
        order = np.argsort(t, kind="stable")
        seen: set[int] = set()
        for ti, h, low in zip(t[order].tolist(), hi[order].tolist(), lo[order].tolist(), strict=True):
            day = ti // DAY
            if day not in seen:
                seen.add(day)
                ranges[day] = (h, low)
    return dict(sorted(ranges.items()))


def gap_breaks(times: I64, step: int | None = None) -> list[dict[str, Any]]:
    """Rangebreaks hiding the time between the days of ``times`` (local ns: nights, weekends,
    holidays, the rest of an early close, days not shown): one explicit ``bounds`` interval per gap.

    Each gap runs from half a ``step`` (default: the smallest spacing of ``times``) after a day's
    last time to half a step before the next day's first, so no point (and no half candle) falls
    inside one, and the intervals never overlap or touch. Not plotly's ``pattern`` breaks plus
    ``values``: plotly.js (4.x) folds a new break into *every* break it overlaps without merging
    those, so a holiday value ([day, day + 24h)) overlapping two overnight pattern breaks is
    counted twice, the axis loses that length and the curve runs backwards in time (the chart may
    even end up empty). Times are floored to the minute, like the ``%Y-%m-%d %H:%M`` x labels.
    """
    t = unique(floor_minute(np.asarray(times, dtype=np.int64)))
    if len(t) < 2:
        return []
    half = (int(np.diff(t).min()) if step is None else step) // 2
    day = t // DAY
    ends = np.flatnonzero(day[1:] != day[:-1])
    lo, hi = t[ends] + half, t[ends + 1] - half
    keep = hi > lo
    return [{"bounds": [a, b]} for a, b in zip(labels(lo[keep], "s"), labels(hi[keep], "s"), strict=True)]


def day_views(
    candles: LocalBars, marks: Sequence[tuple[I64, F64]], step: int
) -> list[tuple[int, list[str], list[float]]]:
    """Per shown day: (day, x range, y range) fitting its candles and the marks (local ns, price)."""
    t = np.concatenate([candles.t, *(m[0] for m in marks)])
    low = np.concatenate([candles.low, *(m[1] for m in marks)])
    high = np.concatenate([candles.high, *(m[1] for m in marks)])
    ok = np.isfinite(low)
    t, low, high = t[ok], low[ok], high[ok]
    day = t // DAY
    keep = np.isin(day, candles.t // DAY)
    t, low, high, day = t[keep], low[keep], high[keep], day[keep]
    views = []
    for d in unique(day).tolist():
        mine = day == d
        t0, t1 = floor_minute(t[mine].min(keepdims=True)), floor_minute(t[mine].max(keepdims=True))
        lo, hi = float(low[mine].min()), float(high[mine].max())
        pad = (hi - lo) * 0.04 or max(abs(hi) * 0.001, 0.01)
        x = labels(np.concatenate([t0 - step // 2, t1 + step // 2]), "s")
        views.append((int(d), x, [lo - pad, hi + pad]))
    return views
