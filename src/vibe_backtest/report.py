"""HTML reports: one backtest (:func:`write_report`) and a parameter sweep (:func:`write_sweep_report`).

Both files are self-contained: plotly.js is embedded inline once, in the head, and every figure is
a ``<div>`` drawn by it, so a report opens offline and can be mailed as one file. Size stays
bounded whatever the period: above :data:`MAX_EQUITY_POINTS` samples the equity curve keeps one
point per session (the last equity, the deepest drawdown), and the candlestick charts show at most
the last :data:`MAX_CANDLE_DAYS` days that had a trade or a signal per symbol.

The table helpers (:func:`symbol_table`, :func:`month_table`, :func:`signal_table`,
:func:`veto_reasons`, :func:`opening_ranges`, :func:`equity_points`) return DataFrames, for
notebooks as much as for the report. This module makes no trading decision.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from vibe_core.metrics import profit_factor

if TYPE_CHECKING:
    from vibe_backtest.results import BacktestResult

__all__ = [
    "write_report",
    "write_sweep_report",
    "format_value",
    "equity_points",
    "opening_ranges",
    "symbol_table",
    "month_table",
    "signal_table",
    "veto_reasons",
    "has_opening_range",
    "MAX_EQUITY_POINTS",
    "MAX_CANDLE_DAYS",
]

MAX_EQUITY_POINTS = 20_000  #: above this many samples the equity curve keeps one point per session
MAX_CANDLE_DAYS = 20  #: candlestick days per symbol (the last days with a trade or a signal)
LOWER_IS_BETTER = frozenset({"max_drawdown", "risk_halts", "order_rejections", "wall_seconds"})

_NY = "America/New_York"
_SESSION_OPEN = pd.Timedelta(hours=9, minutes=30)
_FIVE_MINUTES = pd.Timedelta(minutes=5)
_EXIT_COLOURS = {
    "target": "#2ca02c",
    "stop": "#d62728",
    "eod": "#7f7f7f",
    "close_all": "#ff7f0e",
    "halt": "#9467bd",
}
_PERCENT_NAMES = frozenset({"total_return", "max_drawdown", "win_rate", "exposure", "return", "share"})
_PERCENT_SUFFIXES = ("_return", "_rate", "_pct", "_percent", "drawdown", "exposure")
_MONEY_SUFFIXES = ("capital", "equity", "pnl", "cash")
_RATIO_NAMES = frozenset({"profit_factor", "sharpe", "sortino"})  #: always 2 decimals, even below 1
_NUMBER = re.compile(r"(?<![\w@.])\d+(?:\.\d+)?(?![A-Za-wyz\d])")  # 0.5x, 123.45, 5/21; not ema20@1h
# A small template: plotly's built-in ones are deep-copied per figure, which costs ~0.2 s each.
_TEMPLATE: dict[str, Any] = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"],
        "xaxis": {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "automargin": True},
        "yaxis": {"gridcolor": "#ebf0f8", "automargin": True, "zerolinecolor": "#bbb"},
        "hoverlabel": {"align": "left"},
    }
}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f4f4f4; }
.note { color: #666; font-style: italic; } .grid { display: flex; gap: 3em; flex-wrap: wrap; }
.wide { overflow-x: auto; max-width: 100%; } .wide table { font-size: 0.8em; }
.wide th { position: sticky; top: 0; white-space: normal; min-width: 4em; }
"""


# ---------------------------------------------------------------------------------------------
# Formatting


def _kind(key: str) -> str:
    name = str(key).rsplit(".", 1)[-1].lower()
    if name in _PERCENT_NAMES or name.endswith(_PERCENT_SUFFIXES):
        return "percent"
    if name.endswith(_MONEY_SUFFIXES):
        return "money"
    if name in _RATIO_NAMES:
        return "ratio"
    return "number"


def format_value(key: str, value: Any) -> str:
    """``value`` as shown in a table cell: % for returns/drawdown/rates, 2 decimals for money."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "—"
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
        kind = _kind(key)
        if kind == "percent":
            return f"{x * 100:.2f}%"
        if kind == "money":
            return f"{x:,.2f}"
        if isinstance(value, (int, np.integer)):
            return f"{int(value):,}"
        small = 0 < abs(x) < 1 and kind != "ratio"  # config values such as 0.005 $/share keep their digits
        return f"{x:.4g}" if small else f"{x:,.2f}"
    return str(value)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _label(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


def _table(frame: pd.DataFrame, table_id: str, *, index: bool = True) -> str:
    """An HTML table of ``frame``, every cell through :func:`format_value` keyed by its column."""
    heads = ([_esc(frame.index.name or "")] if index else []) + [_esc(_label(c)) for c in frame.columns]
    rows = []
    for key, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        cells = [f"<td>{_esc(key)}</td>"] if index else []
        cells += [
            f"<td>{_esc(format_value(str(c), v))}</td>" for c, v in zip(frame.columns, row, strict=True)
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _pairs(items: Sequence[tuple[str, str]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in items)
    return f'<table id="{table_id}"><tbody>{rows}</tbody></table>'


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _figure(fig: go.Figure, div_id: str, height: int) -> str:
    fig.update_layout(height=height, margin={"l": 60, "r": 20, "t": 50, "b": 40})
    out: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return out


def _page(title: str, body: Sequence[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Tables and series (pure functions of the result frames)


def _local(values: Any) -> pd.DatetimeIndex:
    """Naive New York wall-clock times (the axis plotly draws and the days we group by)."""
    idx = pd.DatetimeIndex(values)
    return idx.tz_convert(_NY).tz_localize(None) if idx.tz is not None else idx


def equity_points(
    equity: pd.DataFrame, initial_capital: float, max_points: int = MAX_EQUITY_POINTS
) -> tuple[pd.DataFrame, bool]:
    """``equity`` and ``drawdown`` (<= 0, from the running peak including the initial capital).

    Returns the frame on naive New York times and whether it was resampled: above ``max_points``
    samples it keeps one row per session, the last equity and the deepest drawdown of the day,
    so the maximum drawdown stays visible.
    """
    values = equity["equity"].to_numpy(dtype=np.float64) if len(equity) else np.zeros(0)
    peaks = np.maximum.accumulate(np.concatenate([[float(initial_capital)], values]))[1:]
    frame = pd.DataFrame({"equity": values, "drawdown": values / peaks - 1.0}, index=_local(equity.index))
    frame.index.name = "time"
    if len(frame) <= max_points:
        return frame, False
    days = pd.DatetimeIndex(frame.index).normalize()
    daily = frame.groupby(days).agg(equity=("equity", "last"), drawdown=("drawdown", "min"))
    daily.index.name = "time"
    return daily, True


def symbol_table(trades: pd.DataFrame) -> pd.DataFrame:
    """Per symbol: trades, win rate (pnl > 0), total and average pnl, profit factor (missing: no loss)."""
    rows = {}
    for symbol, group in trades.groupby("symbol", sort=True):
        pnl = group["pnl"].to_numpy(dtype=np.float64)
        rows[str(symbol)] = {
            "trades": len(pnl),
            "win_rate": float(np.mean(pnl > 0)),
            "total_pnl": float(pnl.sum()),
            "avg_pnl": float(pnl.mean()),
            "profit_factor": profit_factor(pnl.tolist()),
        }
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["trades", "win_rate", "total_pnl", "avg_pnl", "profit_factor"]
    )
    frame.index.name = "symbol"
    return frame.astype({"trades": "int64"})


def month_table(trades: pd.DataFrame, equity: pd.DataFrame, initial_capital: float) -> pd.DataFrame:
    """Per calendar month (New York): trades closed, their pnl, and the equity return of the month.

    The return compares the month's last equity with the previous month's (the initial capital
    before the first); it is None for a month the equity curve does not cover.
    """
    exits = _local(trades["exit_time"]).strftime("%Y-%m") if len(trades) else pd.Index([], dtype=str)
    pnl = pd.Series(trades["pnl"].to_numpy(dtype=np.float64), index=exits)
    counts = pnl.groupby(level=0).size()
    sums = pnl.groupby(level=0).sum()
    returns: dict[str, float] = {}
    if len(equity):
        last = equity["equity"].groupby(_local(equity.index).strftime("%Y-%m")).last().sort_index()
        previous = last.shift(1).fillna(float(initial_capital))
        returns = {str(m): float(r) for m, r in (last / previous - 1.0).items()}
    months = sorted(set(counts.index) | set(returns))
    frame = pd.DataFrame(
        {
            "trades": [int(counts.get(m, 0)) for m in months],
            "pnl": [float(sums.get(m, 0.0)) for m in months],
            "return": [returns.get(m) for m in months],
        },
        index=pd.Index(months, name="month"),
    )
    return frame


def signal_table(signals: pd.DataFrame) -> pd.DataFrame:
    """Per symbol (and ``all``): signals, accepted, vetoed."""
    accepted = signals["accepted"].astype(bool) if len(signals) else pd.Series([], dtype=bool)
    symbols = signals["symbol"].astype(str) if len(signals) else pd.Series([], dtype=str)
    frame = pd.DataFrame({"symbol": symbols, "accepted": accepted})
    grouped = frame.groupby("symbol", sort=True)["accepted"]
    out = pd.DataFrame({"signals": grouped.size(), "accepted": grouped.sum()}).astype("int64")
    out.loc["all"] = [len(frame), int(accepted.sum())]
    out["vetoed"] = out["signals"] - out["accepted"]
    out.index.name = "symbol"
    return out


def _pattern(reason: str) -> str:
    return _NUMBER.sub("#", reason.strip())


def _span(numbers: list[str]) -> str:
    """One number as written, or the smallest and largest as written (``0.53..1.49``)."""
    ordered = sorted(set(numbers), key=float)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}..{ordered[-1]}"


def _with_numbers(example: str, seen: list[list[str]]) -> str:
    """``example`` with each number replaced by the span of that number over ``seen``."""
    slots = iter(_span([numbers[i] for numbers in seen]) for i in range(len(seen[0])))
    return _NUMBER.sub(lambda _match: next(slots), example.strip())


def veto_reasons(signals: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The most common reasons among vetoed signals, grouped by their wording, with their numbers.

    Reasons that differ only in their numbers group together; the reason shown gives each number
    as the range it took (``volume 0.12..1.49x < 1.50x``), or the one value it always had.
    Uses the ``vetoes`` column (the failing checks only) when present. Without it (older result
    files), a reason whose wording also occurs on an accepted signal is taken as a pass and left
    out. ``count`` counts vetoed signals giving the reason; ``share`` divides by all vetoed signals.
    """
    if not len(signals):
        return pd.DataFrame({"count": [], "share": []}, index=pd.Index([], name="reason"))
    accepted = signals["accepted"].astype(bool).to_numpy()
    column = "vetoes" if "vetoes" in signals.columns else "reasons"
    texts = signals[column].fillna("").astype(str).to_numpy()
    passes: set[str] = set()
    if column == "reasons":
        passes = {_pattern(r) for t in texts[accepted] for r in t.split(";") if r.strip()}
    examples: dict[str, str] = {}
    numbers: dict[str, list[list[str]]] = {}
    for text in texts[~accepted]:
        mine: dict[str, str] = {}
        for reason in (r for r in text.split(";") if r.strip()):
            mine.setdefault(_pattern(reason), reason)
        for pattern, reason in mine.items():
            if pattern not in passes:
                examples.setdefault(pattern, reason)
                numbers.setdefault(pattern, []).append(_NUMBER.findall(reason.strip()))
    vetoed = int((~accepted).sum())
    ranked = sorted(numbers.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return pd.DataFrame(
        {"count": [len(seen) for _, seen in ranked], "share": [len(seen) / vetoed for _, seen in ranked]},
        index=pd.Index([_with_numbers(examples[p], seen) for p, seen in ranked], name="reason"),
    ).astype({"count": "int64"})


def _bars_local(frame: pd.DataFrame) -> pd.DataFrame:
    """OHLC of a ``BarSeries.to_frame`` (or a datetime-indexed frame) on naive New York times."""
    times = _local(frame["timestamp"] if "timestamp" in frame.columns else frame.index)
    return pd.DataFrame(
        {c: frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close")}, index=times
    )


def _to_five_minutes(bars: pd.DataFrame) -> pd.DataFrame:
    """1m bars aggregated to 5m bars (aligned to the 09:30 open); 5m bars unchanged."""
    if len(bars) < 2 or pd.Series(bars.index).diff().min() >= _FIVE_MINUTES:
        return bars
    slots = pd.DatetimeIndex(bars.index).floor("5min")
    out = bars.groupby(slots).agg({"open": "first", "high": "max", "low": "min", "close": "last"})
    out.index.name = None
    return out


def opening_ranges(bars: pd.DataFrame, signals: pd.DataFrame, minutes: int = 15) -> pd.DataFrame:
    """Per day (naive date): the opening range high/low of one symbol.

    From the day's first signal with a finite range when there is one (what the strategy saw),
    else the bars of the first ``minutes`` after 09:30 New York. ``bars`` as from
    :func:`_bars_local`; ``signals`` already filtered to the symbol.
    """
    ranges: dict[pd.Timestamp, tuple[float, float]] = {}
    if len(bars):
        times = pd.DatetimeIndex(bars.index)
        since_midnight = times - times.normalize()
        end = _SESSION_OPEN + pd.Timedelta(minutes=minutes)
        opening = bars[(since_midnight >= _SESSION_OPEN) & (since_midnight < end)]
        grouped = opening.groupby(pd.DatetimeIndex(opening.index).normalize())
        highs, lows = grouped["high"].max(), grouped["low"].min()
        for day in highs.index:
            ranges[pd.Timestamp(day)] = (float(highs[day]), float(lows[day]))
    if len(signals) and {"range_high", "range_low"} <= set(signals.columns):
        sig = pd.DataFrame(
            {
                "high": signals["range_high"].to_numpy(dtype=np.float64),
                "low": signals["range_low"].to_numpy(dtype=np.float64),
            },
            index=_local(signals["time"]),
        )
        sig = sig[np.isfinite(sig["high"]) & np.isfinite(sig["low"])].sort_index()
        for day, row in sig.groupby(pd.DatetimeIndex(sig.index).normalize()).first().iterrows():
            ranges[pd.Timestamp(day)] = (float(row["high"]), float(row["low"]))
    frame = pd.DataFrame.from_dict(ranges, orient="index", columns=["high", "low"]).sort_index()
    frame.index.name = "day"
    return frame


# ---------------------------------------------------------------------------------------------
# Figures


def _times(idx: pd.DatetimeIndex) -> npt.NDArray[np.str_]:
    """Axis labels as a numpy string array: plotly copies arrays at once but walks lists item by item."""
    return np.asarray(idx.strftime("%Y-%m-%d %H:%M"), dtype=str)


def _days(times: pd.DatetimeIndex) -> npt.NDArray[np.datetime64]:
    """Naive midnights as a datetime64 array (set operations on 10 years of bars stay vectorised)."""
    return np.asarray(times.normalize().to_numpy(dtype="datetime64[ns]"))


def _gap_breaks(times: pd.DatetimeIndex, step: pd.Timedelta | None = None) -> list[dict[str, Any]]:
    """Rangebreaks hiding the time between the days of ``times`` (nights, weekends, holidays,
    the rest of an early close, days not shown): one explicit ``bounds`` interval per gap.

    Each gap runs from half a ``step`` (default: the smallest spacing of ``times``) after a day's
    last time to half a step before the next day's first, so no point (and no half candle) falls
    inside one, and the intervals never overlap or touch. Not plotly's ``pattern`` breaks plus ``values``:
    plotly.js (4.x) folds a new break into *every* break it overlaps without merging those, so
    a holiday value ([day, day + 24h)) overlapping two overnight pattern breaks is counted twice,
    the axis loses that length and the curve runs backwards in time (the chart may even end up
    empty). Times are floored to the minute, like the ``%Y-%m-%d %H:%M`` x labels.
    """
    t = pd.DatetimeIndex(times).floor("min").unique().sort_values()
    if len(t) < 2:
        return []
    half = (pd.Series(t).diff().min() if step is None else step) / 2
    day = t.normalize()
    ends = np.flatnonzero(day[1:] != day[:-1])
    lo, hi = t[ends] + half, t[ends + 1] - half
    keep = hi > lo
    return [
        {"bounds": [a, b]}
        for a, b in zip(
            lo[keep].strftime("%Y-%m-%d %H:%M:%S"), hi[keep].strftime("%Y-%m-%d %H:%M:%S"), strict=True
        )
    ]


def _new_figure(*traces: Any) -> go.Figure:
    return go.Figure(list(traces), layout={"template": _TEMPLATE})


def _equity_figure(points: pd.DataFrame, daily: bool) -> go.Figure:
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04, figure=_new_figure()
    )
    times = pd.DatetimeIndex(points.index)
    x = np.asarray(times.strftime("%Y-%m-%d"), dtype=str) if daily else _times(times)
    fig.add_trace(
        go.Scatter(x=x, y=points["equity"].to_numpy(), name="equity", line={"color": "#1f77b4"}), row=1, col=1
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=points["drawdown"].to_numpy() * 100,
            name="drawdown %",
            fill="tozeroy",
            line={"color": "#d62728"},
        ),
        row=2,
        col=1,
    )
    fig.update_xaxes(rangebreaks=_gap_breaks(times))
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(title="Equity and drawdown", showlegend=False, hovermode="x unified")
    return fig


def has_opening_range(signals: pd.DataFrame) -> bool:
    """Whether the strategy's signals carry an opening range (ORB's do; a strategy without one not)."""
    if not len(signals) or not {"range_high", "range_low"} <= set(signals.columns):
        return False
    high = pd.to_numeric(signals["range_high"], errors="coerce").to_numpy(dtype=np.float64)
    return bool(np.isfinite(high).any())


def _day_views(
    view: pd.DataFrame, marks: list[tuple[pd.DatetimeIndex, npt.NDArray[np.float64]]], step: pd.Timedelta
) -> list[tuple[pd.Timestamp, list[str], list[float]]]:
    """Per shown day: (day, x range, y range) fitting its candles and the marks (time, price) of that day."""
    times = pd.DatetimeIndex(view.index)
    frame = pd.DataFrame({"t": times, "low": view["low"].to_numpy(), "high": view["high"].to_numpy()})
    for t, price in marks:
        frame = pd.concat([frame, pd.DataFrame({"t": t, "low": price, "high": price})], ignore_index=True)
    frame = frame[np.isfinite(frame["low"].to_numpy(dtype=np.float64))]
    frame["day"] = pd.DatetimeIndex(frame["t"]).normalize()
    frame = frame[frame["day"].isin(times.normalize())]
    views = []
    for day, rows in frame.groupby("day", sort=True):
        t0, t1 = pd.Timestamp(rows["t"].min()).floor("min"), pd.Timestamp(rows["t"].max()).floor("min")
        lo, hi = float(rows["low"].min()), float(rows["high"].max())
        pad = (hi - lo) * 0.04 or max(abs(hi) * 0.001, 0.01)
        x = list(pd.DatetimeIndex([t0 - step / 2, t1 + step / 2]).strftime("%Y-%m-%d %H:%M:%S"))
        views.append((pd.Timestamp(day), x, [lo - pad, hi + pad]))
    return views


def _day_selector(
    views: list[tuple[pd.Timestamp, list[str], list[float]]], whole: list[str]
) -> list[dict[str, Any]]:
    """A dropdown: one day per view (x and y fitted to that day, ticks every half hour), or all days."""
    day_axis = {"xaxis.tickmode": "linear", "xaxis.dtick": 30 * 60 * 1000, "xaxis.tickformat": "%H:%M"}
    buttons = [
        {
            "label": day.strftime("%a %Y-%m-%d"),
            "method": "relayout",
            "args": [
                {"xaxis.range": x, "yaxis.range": y, "xaxis.tick0": f"{day:%Y-%m-%d} 09:30", **day_axis}
            ],
        }
        for day, x, y in views
    ]
    days = [f"{day:%Y-%m-%d} 09:30" for day, _, _ in views]
    buttons.append(
        {
            "label": f"all {len(views)} days",
            "method": "relayout",
            "args": [
                {
                    "xaxis.range": whole,
                    "yaxis.autorange": True,
                    "xaxis.tickmode": "array",
                    "xaxis.tickvals": days,
                    "xaxis.ticktext": [f"{day:%b %d}" for day, _, _ in views],
                }
            ],
        }
    )
    return [
        {
            "type": "dropdown",
            "buttons": buttons,
            "active": len(views) - 1,
            "showactive": True,
            "x": 0.0,  # left: the right is plotly's toolbar
            "xanchor": "left",
            "y": 1.16,
            "yanchor": "top",
        }
    ]


def _candles(symbol: str, result: BacktestResult, minutes: int | None) -> tuple[str, str]:
    """(note, figure html) for one symbol; the figure is empty when there is nothing to show.

    One day per view: the chart opens on the last day shown, fitted to its candles, with a
    dropdown to pick another day (or all of them, one date tick a day). ``minutes``: the opening
    range to draw (``None``: the strategy has none, no range lines).
    """
    bars = _bars_local(result.bars[symbol])
    trades = result.trades[result.trades["symbol"] == symbol] if len(result.trades) else result.trades
    signals = result.signals[result.signals["symbol"] == symbol] if len(result.signals) else result.signals
    wanted = [_days(_local(trades["entry_time"]))] if len(trades) else []
    if len(signals):
        wanted.append(_days(_local(signals["time"])))
    bar_days = _days(pd.DatetimeIndex(bars.index))
    active = np.intersect1d(np.concatenate(wanted), bar_days) if wanted else bar_days[:0]
    if not len(active):
        return _note(f"{symbol}: no day with a trade or a signal."), ""
    shown = pd.DatetimeIndex(active[-MAX_CANDLE_DAYS:])
    view = _to_five_minutes(bars[np.isin(bar_days, active[-MAX_CANDLE_DAYS:])])
    fig = _new_figure(
        go.Candlestick(
            x=_times(pd.DatetimeIndex(view.index)),
            open=view["open"].to_numpy(),
            high=view["high"].to_numpy(),
            low=view["low"].to_numpy(),
            close=view["close"].to_numpy(),
            name=symbol,
        )
    )
    view_times = pd.DatetimeIndex(view.index)
    marks: list[tuple[pd.DatetimeIndex, npt.NDArray[np.float64]]] = []
    if minutes is not None:
        ranges = opening_ranges(view, signals, minutes)
        stamps = pd.Series(_times(view_times).tolist(), index=view_times.normalize())
        first = stamps.groupby(level=0).first().to_dict()
        last = stamps.groupby(level=0).last().to_dict()
        for side, colour in (("high", "#1f77b4"), ("low", "#ff7f0e")):
            xs: list[str | None] = []
            ys: list[float | None] = []
            for day, level in zip(ranges.index, ranges[side].to_numpy(), strict=True):
                if day in first:
                    xs += [first[day], last[day], None]
                    ys += [float(level), float(level), None]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"range {side}",
                    line={"color": colour, "dash": "dot", "width": 1},
                )
            )
            days_ns = pd.DatetimeIndex(ranges.index) + _SESSION_OPEN
            marks.append((days_ns, ranges[side].to_numpy(dtype=np.float64)))
    marked = [view_times]
    if len(trades):
        trades = trades[_local(trades["entry_time"]).normalize().isin(shown)].sort_values("entry_time")
        entry_t, exit_t = _local(trades["entry_time"]), _local(trades["exit_time"])
        marks += [
            (entry_t, trades["entry_price"].to_numpy(dtype=np.float64)),
            (exit_t, trades["exit_price"].to_numpy(dtype=np.float64)),
        ]
        longs = (trades["side"].astype(str) == "buy").to_numpy()
        fig.add_trace(
            go.Scatter(
                x=_times(entry_t),
                y=trades["entry_price"].to_numpy(),
                mode="markers",
                name="entry",
                marker={
                    "symbol": np.where(longs, "triangle-up", "triangle-down").tolist(),
                    "size": 11,
                    "color": "#1f77b4",
                    "line": {"width": 1, "color": "black"},
                },
                text=[f"{s} {q}" for s, q in zip(trades["side"], trades["qty"], strict=True)],
            )
        )
        marked += [entry_t, exit_t]
        reasons = trades["exit_reason"].astype(str).to_numpy()
        for reason in sorted(set(reasons)):
            pick = np.flatnonzero(reasons == reason)
            pick = pick[np.argsort(exit_t[pick].to_numpy(), kind="stable")]
            fig.add_trace(
                go.Scatter(
                    x=_times(exit_t[pick]),
                    y=trades["exit_price"].to_numpy()[pick],
                    mode="markers",
                    name=f"exit: {reason}",
                    text=[f"pnl {p:,.2f}" for p in trades["pnl"].to_numpy()[pick]],
                    marker={"symbol": "x", "size": 10, "color": _EXIT_COLOURS.get(reason, "#17becf")},
                )
            )
    step = pd.Series(view_times).diff().min() if len(view_times) > 1 else _FIVE_MINUTES  # one candle
    everything = pd.DatetimeIndex(np.concatenate(marked)).floor("min")
    # Explicit ranges: plotly's autorange pads for the markers in time *including* the hidden
    # gaps, and fits y to every day at once, which squeezes one day's candles flat.
    whole = list(
        pd.DatetimeIndex([everything.min() - step / 2, everything.max() + step / 2]).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
    )
    views = _day_views(view, marks, step)
    last_day, last_x, last_y = views[-1]
    fig.update_xaxes(
        rangebreaks=_gap_breaks(everything, step),
        range=last_x,
        rangeslider_visible=False,
        tickmode="linear",
        tick0=f"{last_day:%Y-%m-%d} 09:30",
        dtick=30 * 60 * 1000,
        tickformat="%H:%M",
    )
    fig.update_yaxes(range=last_y)
    what = "opening range, entries and exits" if minutes is not None else "entries and exits"
    fig.update_layout(
        title=f"{symbol}: 5m bars, {what}",
        hovermode="closest",
        updatemenus=_day_selector(views, whole),
    )
    more = f"the last {len(shown)} of {len(active)}" if len(active) > len(shown) else f"all {len(shown)}"
    note = _note(f"{symbol}: {more} days with a trade or a signal; pick a day above the chart.")
    return note, _figure(fig, f"candles-{re.sub(r'[^A-Za-z0-9_-]', '_', symbol)}", 480)


def _pnl_figure(trades: pd.DataFrame) -> go.Figure:
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    edges = np.histogram_bin_edges(pnl, bins=int(min(40, max(5, math.sqrt(len(pnl)) * 2))))
    width = float(edges[1] - edges[0]) or 1.0
    bins = {"start": float(edges[0]), "end": float(edges[-1]) + width, "size": width}  # one grid for both
    fig = _new_figure()
    fig.add_trace(go.Histogram(x=pnl[pnl > 0], name="wins", marker_color="#2ca02c", xbins=bins))
    fig.add_trace(go.Histogram(x=pnl[pnl <= 0], name="losses", marker_color="#d62728", xbins=bins))
    fig.update_layout(
        title=f"P&L per trade ({len(pnl)} trades)",
        barmode="stack",
        bargap=0.05,
        xaxis_title="pnl",
        yaxis_title="trades",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# The single-backtest report


def _period(result: BacktestResult) -> str:
    start, end = result.summary.get("start"), result.summary.get("end")
    if (start is None or end is None) and len(result.equity):
        days = _local(result.equity.index)
        start, end = days[0].date().isoformat(), days[-1].date().isoformat()
    return f"{start} to {end}" if start is not None else "unknown"


def _header(result: BacktestResult) -> list[str]:
    cfg = result.config
    symbols = result.summary.get("symbols") or list(cfg.symbols)
    items = [
        ("Period", _period(result)),
        ("Symbols", ", ".join(map(str, symbols))),
        ("Initial capital", format_value("initial_capital", cfg.initial_capital)),
        ("Exchange preset", cfg.exchange.preset),
        ("Validation", "on" if cfg.validation.enabled else "off"),
    ]
    overrides = {k: v for k, v in attrs.asdict(cfg.exchange).items() if k != "preset" and v is not None}
    if overrides:
        text = ", ".join(f"{k}={format_value(k, v)}" for k, v in overrides.items())
        items.append(("Exchange overrides", text))
    if cfg.validation.enabled:
        rules = [r for r in ("trend", "volume", "support_resistance") if getattr(cfg.validation, r)]
        items.append(("Validation rules", ", ".join(rules) or "none"))
    items += [(f"strategy.{k}", format_value(k, v)) for k, v in attrs.asdict(cfg.strategy).items()]
    items += [("Seed", str(cfg.seed))]
    rows = "".join(
        f"<tr><th>{_esc(_label(k))}</th><td>{_esc(format_value(k, v))}</td></tr>"
        for k, v in result.summary.items()
    )
    return [
        "<h1>vibe backtest report</h1>",
        f"<p>{_esc(_period(result))} · {_esc(', '.join(map(str, symbols)))}</p>",
        '<h2 id="summary">Summary</h2>',
        '<div class="grid">',
        f"<div><h3>Configuration</h3>{_pairs(items, 'config-table')}</div>",
        f'<div><h3>Results</h3><table id="summary-table"><tbody>{rows}</tbody></table></div>',
        "</div>",
    ]


def write_report(result: BacktestResult, path: Path) -> Path:
    """Write the self-contained HTML report of one backtest to ``path`` (parents created)."""
    trades, cfg = result.trades, result.config
    body = _header(result)
    body.append('<h2 id="equity">Equity and drawdown</h2>')
    if len(result.equity):
        points, daily = equity_points(result.equity, cfg.initial_capital)
        if daily:
            body.append(
                _note(
                    f"{len(result.equity):,} equity samples: one point per session "
                    "(last equity, deepest drawdown of the day)."
                )
            )
        body.append(_figure(_equity_figure(points, daily), "equity-chart", 520))
    else:
        body.append(_note("No equity samples."))
    ranged = has_opening_range(result.signals)
    title = "Price, opening range and trades" if ranged else "Price and trades"
    body.append(f'<h2 id="price">{title}</h2>')
    if not result.bars:
        body.append(_note("Input bars were not kept for this result (keep_bars=False)."))
    for symbol in sorted(result.bars):
        minutes = getattr(cfg.strategy, "opening_range_minutes", 15) if ranged else None
        note, fig = _candles(symbol, result, minutes)
        body += [note, fig]
    no_trades = _note("No trades in this backtest.")
    body.append('<h2 id="pnl">P&amp;L distribution</h2>')
    body.append(_figure(_pnl_figure(trades), "pnl-chart", 380) if len(trades) else no_trades)
    body.append('<h2 id="per-symbol">Per symbol</h2>')
    body.append(_table(symbol_table(trades), "symbol-table") if len(trades) else no_trades)
    body.append('<h2 id="per-month">Per month</h2>')
    months = month_table(trades, result.equity, cfg.initial_capital)
    body.append(_table(months, "month-table") if len(months) else no_trades)
    body.append('<h2 id="signals">Signals</h2>')
    if len(result.signals):
        body.append(_table(signal_table(result.signals), "signal-table"))
        vetoes = veto_reasons(result.signals)
        body.append("<h3>Most common veto reasons</h3>")
        body.append(_table(vetoes, "veto-table") if len(vetoes) else _note("No vetoed signals."))
    else:
        body.append(_note("No signals."))
    return _write(path, _page(f"vibe backtest {_period(result)}", body))


# ---------------------------------------------------------------------------------------------
# The sweep report


def _category(key: str, values: Sequence[Any]) -> list[str]:
    return [format_value(key, v) if isinstance(v, float) else str(v) for v in values]


def _mean_by(frame: pd.DataFrame, keys: list[str], metric: str) -> pd.Series:
    try:
        return frame.groupby(keys, sort=True, dropna=False)[metric].mean()
    except TypeError:  # unorderable mixed values: keep the grid's order
        return frame.groupby(keys, sort=False, dropna=False)[metric].mean()


def write_sweep_report(table: pd.DataFrame, keys: list[str], metric: str, path: Path) -> Path:
    """Write the sweep's HTML: ``metric`` over the grid (a heatmap of the first two keys, the mean
    over any others; a bar chart for one key) and the whole table sorted by ``metric``."""
    columns = [str(c) for c in table.columns]
    if metric not in table.columns:
        raise ValueError(f"unknown metric {metric!r}; available columns: {', '.join(columns)}")
    missing = [k for k in keys if k not in table.columns]
    if not keys or missing:
        raise ValueError(
            f"sweep keys {missing or keys!r} not in the table; available columns: {', '.join(columns)}"
        )
    values = pd.to_numeric(table[metric], errors="coerce")
    frame = table.assign(**{metric: values})
    lower = metric in LOWER_IS_BETTER
    z: npt.NDArray[np.float64] = np.zeros((0, 0))
    scale = "RdYlGn_r" if lower else "RdYlGn"
    if len(keys) == 1:
        means = _mean_by(frame, keys, metric)
        fig = _new_figure(
            go.Bar(
                x=_category(keys[0], list(means.index)),
                y=means.to_numpy(),
                marker={"color": means.to_numpy(), "colorscale": scale},
            )
        )
        fig.update_layout(title=f"{metric} by {keys[0]}", xaxis_title=keys[0], yaxis_title=metric)
        fig.update_xaxes(type="category")
    else:
        grid = _mean_by(frame, keys[:2], metric).unstack(keys[0])
        others = keys[2:]
        title = f"{metric} over {keys[0]} x {keys[1]}"
        if others:
            title += f" (mean over {', '.join(others)})"
        z = grid.to_numpy(dtype=np.float64)
        fig = _new_figure(
            go.Heatmap(
                z=z,
                x=_category(keys[0], list(grid.columns)),
                y=_category(keys[1], list(grid.index)),
                colorscale=scale,
                colorbar={"title": {"text": metric}},
                text=[[format_value(metric, v) for v in row] for row in z],
                texttemplate="%{text}",
                hovertemplate="%{x}, %{y}: %{text}<extra></extra>",
            )
        )
        fig.update_layout(title=title, xaxis_title=keys[0], yaxis_title=keys[1])
        fig.update_xaxes(type="category")
        fig.update_yaxes(type="category")
    stability = _stability_section(frame, keys, metric, lower, scale, z if len(keys) > 1 else None)
    order = frame[metric].sort_values(ascending=lower, na_position="last", kind="stable").index
    ranked = table.loc[order].reset_index(drop=True)
    ranked.index = pd.RangeIndex(1, len(ranked) + 1, name="rank")
    best = ranked.iloc[0] if len(ranked) else None
    body = [
        "<h1>vibe parameter sweep</h1>",
        f"<p>{len(table)} runs over {_esc(', '.join(keys))}; metric <b>{_esc(metric)}</b> "
        f"({'lower' if lower else 'higher'} is better).</p>",
    ]
    failed = int((table["error"].fillna("").astype(str) != "").sum()) if "error" in table.columns else 0
    if failed:
        body.append(_note(f"{failed} of {len(table)} runs failed: their rows give the error (ranked last)."))
    if best is not None:
        setting = ", ".join(f"{k}={format_value(k, best[k])}" for k in keys)
        score = format_value(metric, best[metric])
        body.append(f"<p>Best: {_esc(setting)} → {_esc(metric)} {_esc(score)}</p>")
    body += [
        '<h2 id="grid">Metric over the grid</h2>',
        _figure(fig, "sweep-chart", 520),
        *stability,
        '<h2 id="table">All runs, sorted by the metric</h2>',
        f'<div class="wide">{_table(ranked, "sweep-table")}</div>',
    ]
    return _write(path, _page(f"vibe sweep: {metric}", body))


def _stability_section(
    frame: pd.DataFrame,
    keys: list[str],
    metric: str,
    lower: bool,
    scale: str,
    z: npt.NDArray[np.float64] | None,
) -> list[str]:
    """The parameter-stability view: each cell against its grid neighbours (a lone peak shows)."""
    from vibe_backtest.stability import neighbour_stats, stability_table

    out = [
        '<h2 id="stability">Parameter stability</h2>',
        _note(
            "Each cell against its neighbours (one grid step away along any keys, diagonals included). "
            "A best cell whose neighbours score far worse (a large peak gap) is a lone peak: a small "
            "change of a parameter loses the edge, which suggests overfitting. Prefer a plateau."
        ),
    ]
    if z is not None and z.size:
        grid = _mean_by(frame, keys[:2], metric).unstack(keys[0])
        stats = neighbour_stats(z)
        text = [
            [
                "—" if not np.isfinite(m) else f"{format_value(metric, lo)}..{format_value(metric, hi)}"
                for m, lo, hi in zip(mr, lr, hr, strict=True)
            ]
            for mr, lr, hr in zip(stats["mean"], stats["min"], stats["max"], strict=True)
        ]
        fig = _new_figure(
            go.Heatmap(
                z=stats["mean"],
                x=_category(keys[0], list(grid.columns)),
                y=_category(keys[1], list(grid.index)),
                colorscale=scale,
                colorbar={"title": {"text": "neighbours"}},
                text=text,
                texttemplate="%{text}",
                hovertemplate="%{x}, %{y}: neighbours %{text}, mean %{z:.3g}<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"neighbours' mean {metric} (cell text: their min..max)",
            xaxis_title=keys[0],
            yaxis_title=keys[1],
        )
        fig.update_xaxes(type="category")
        fig.update_yaxes(type="category")
        out.append(_figure(fig, "stability-chart", 520))
    table = stability_table(frame, keys, metric)
    if not len(table):
        return [*out, _note("No cell has a value.")]
    table = table.sort_values(metric, ascending=lower, kind="stable").head(20).reset_index(drop=True)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    out.append(f'<div class="wide">{_table(table, "stability-table")}</div>')
    return out
