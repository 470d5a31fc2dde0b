"""HTML reports: one backtest (:func:`write_report`) and a parameter sweep (:func:`write_sweep_report`).

Both files are self-contained: plotly.js is embedded inline once, in the head, and every figure is
a ``<div>`` drawn by it, so a report opens offline and can be mailed as one file. Size stays
bounded whatever the period: above :data:`MAX_EQUITY_POINTS` samples the equity curve keeps one
point per session (the last equity, the deepest drawdown), and the candlestick charts show at most
the last :data:`MAX_CANDLE_DAYS` days that had a trade or a signal per symbol.

The backtest report is built from the result's columns with numpy (:mod:`vibe_backtest.report_data`)
and its figures written as plotly.js JSON directly: neither pandas nor plotly's Python package is
imported for it (plotly's is only where plotly.js is read from). The sweep reports use plotly's
figures. The table helpers (:func:`symbol_table`, :func:`month_table`, :func:`signal_table`,
:func:`veto_reasons`, :func:`opening_ranges`, :func:`equity_points`) return DataFrames, for
notebooks. This module makes no trading decision.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from vibe_backtest import report_data as rd
from vibe_backtest.tables import Table

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

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
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 40}
_CONFIG = {"displaylogo": False, "responsive": True}
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

#: A figure written as plotly.js JSON: ``{"data": [traces], "layout": {...}}``.
Figure = dict[str, Any]


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


def _rows_table(index_name: str | None, columns: Sequence[str], rows: rd.Rows, table_id: str) -> str:
    """An HTML table: a header, then per row its key and cells through :func:`format_value`."""
    heads = ([_esc(index_name or "")] if index_name is not None else []) + [_esc(_label(c)) for c in columns]
    body = []
    for key, row in rows:
        cells = [f"<td>{_esc(key)}</td>"] if index_name is not None else []
        cells += [f"<td>{_esc(format_value(str(c), v))}</td>" for c, v in zip(columns, row, strict=True)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _table(frame: pd.DataFrame, table_id: str, *, index: bool = True) -> str:
    """An HTML table of ``frame``, every cell through :func:`format_value` keyed by its column."""
    rows = [
        (key, list(row))
        for key, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True)
    ]
    name = str(frame.index.name or "") if index else None
    return _rows_table(name, [str(c) for c in frame.columns], rows, table_id)


def _pairs(items: Sequence[tuple[str, str]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in items)
    return f'<table id="{table_id}"><tbody>{rows}</tbody></table>'


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _json(value: Any) -> str:
    """JSON for a ``<script>``: numpy values as plain numbers, ``</`` escaped."""
    return json.dumps(value, separators=(",", ":"), default=_plain).replace("</", "<\\/")


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _figure(fig: go.Figure | Figure, div_id: str, height: int) -> str:
    """One figure's ``<div>`` and the script drawing it (plotly.js is in the page's head)."""
    if not isinstance(fig, dict):  # a plotly figure (the sweep reports)
        fig.update_layout(height=height, margin=_MARGIN)
        out: str = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            default_height=f"{height}px",
            config=_CONFIG,
        )
        return out
    layout = {"template": _TEMPLATE, **fig["layout"], "height": height, "margin": _MARGIN}
    return (
        f'<div style="height:{height}px; width:100%;"><div id="{div_id}" class="plotly-graph-div" '
        'style="height:100%; width:100%;"></div><script>window.PLOTLYENV=window.PLOTLYENV || {};'
        f'if (document.getElementById("{div_id}")) {{Plotly.newPlot("{div_id}", {_json(fig["data"])}, '
        f"{_json(layout)}, {_json(_CONFIG)})}};</script></div>"
    )


@functools.cache
def _plotlyjs() -> bytes:
    """plotly.js as plotly's package ships it, read without importing the package (~0.1 s).

    As bytes, written as they are: the file is not ASCII, so as text it would be decoded into a
    string of two bytes a character and encoded back (~40 ms a report). Line ends read as a text
    file reads them (``\n``)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("plotly is not installed: it ships the plotly.js the report embeds")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    raw = path.read_bytes()
    if b"\r" in raw:
        raw = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return raw


def _page_parts(title: str, body: Sequence[str]) -> tuple[bytes, bytes, bytes]:
    """A page's UTF-8 bytes in three parts: the head up to plotly.js, plotly.js, the rest."""
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n"
        '<script type="text/javascript">'
    )
    rest = "</script>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    return head.encode("utf-8"), _plotlyjs(), rest.encode("utf-8")


def _write_page(path: Path, title: str, body: Sequence[str]) -> Path:
    """Write the page of ``title`` and ``body`` (its bytes, plotly.js as read)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for part in _page_parts(title, body):
            out.write(part)
    return path


# ---------------------------------------------------------------------------------------------
# Tables and series for notebooks: DataFrames in and out (the report uses report_data's cores)


def _local(values: Any) -> pd.DatetimeIndex:
    """Naive New York wall-clock times (the axis plotly draws and the days we group by)."""
    import pandas as pd

    idx = pd.DatetimeIndex(values)
    return idx.tz_convert(_NY).tz_localize(None) if idx.tz is not None else idx


def _utc_ns(values: Any) -> npt.NDArray[np.int64]:
    """Times (tz-aware, or naive New York) as UTC ns."""
    import pandas as pd

    idx = pd.DatetimeIndex(values)
    if idx.tz is None:
        idx = idx.tz_localize(_NY)
    return np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)


def _rows_frame(rows: rd.Rows, index: str, columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    keys = pd.Index([k for k, _ in rows], name=index, dtype=object)
    if not rows:  # no rows: float columns (callers cast counts to int)
        return pd.DataFrame({c: np.zeros(0) for c in columns}, index=keys)
    return pd.DataFrame([r for _, r in rows], index=keys, columns=columns)


def equity_points(
    equity: pd.DataFrame, initial_capital: float, max_points: int = MAX_EQUITY_POINTS
) -> tuple[pd.DataFrame, bool]:
    """``equity`` and ``drawdown`` (<= 0, from the running peak including the initial capital).

    Returns the frame on naive New York times and whether it was resampled: above ``max_points``
    samples it keeps one row per session, the last equity and the deepest drawdown of the day,
    so the maximum drawdown stays visible.
    """
    import pandas as pd

    values = equity["equity"].to_numpy(dtype=np.float64) if len(equity) else np.zeros(0)
    points = rd.equity_points(_utc_ns(equity.index), values, initial_capital, max_points)
    index = pd.DatetimeIndex(points.t.astype("datetime64[ns]"), name="time")
    return pd.DataFrame({"equity": points.equity, "drawdown": points.drawdown}, index=index), points.daily


def symbol_table(trades: pd.DataFrame) -> pd.DataFrame:
    """Per symbol: trades, win rate (pnl > 0), total and average pnl, profit factor (missing: no loss)."""
    rows = rd.symbol_rows(trades["symbol"].astype(str).tolist(), trades["pnl"].to_numpy(dtype=np.float64))
    frame = _rows_frame(rows, "symbol", ["trades", "win_rate", "total_pnl", "avg_pnl", "profit_factor"])
    return frame.astype({"trades": "int64", "profit_factor": "float64"})


def month_table(trades: pd.DataFrame, equity: pd.DataFrame, initial_capital: float) -> pd.DataFrame:
    """Per calendar month (New York): trades closed, their pnl, and the equity return of the month.

    The return compares the month's last equity with the previous month's (the initial capital
    before the first); it is None for a month the equity curve does not cover.
    """
    exits = _utc_ns(trades["exit_time"]) if len(trades) else np.zeros(0, dtype=np.int64)
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if len(trades) else np.zeros(0)
    eq_ns = _utc_ns(equity.index) if len(equity) else np.zeros(0, dtype=np.int64)
    values = equity["equity"].to_numpy(dtype=np.float64) if len(equity) else np.zeros(0)
    rows = rd.month_rows(exits, pnl, eq_ns, values, initial_capital)
    return _rows_frame(rows, "month", ["trades", "pnl", "return"])


def signal_table(signals: pd.DataFrame) -> pd.DataFrame:
    """Per symbol (and ``all``): signals, accepted, vetoed."""
    symbols = signals["symbol"].astype(str).tolist() if len(signals) else []
    accepted = signals["accepted"].astype(bool).to_numpy() if len(signals) else np.zeros(0, dtype=bool)
    return _rows_frame(rd.signal_rows(symbols, accepted), "symbol", ["signals", "accepted", "vetoed"]).astype(
        "int64"
    )


def veto_reasons(signals: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The most common reasons among vetoed signals, grouped by their wording, with their numbers.

    Reasons that differ only in their numbers group together; the reason shown gives each number
    as the range it took (``volume 0.12..1.49x < 1.50x``), or the one value it always had.
    Uses the ``vetoes`` column (the failing checks only) when present. Without it (older result
    files), a reason whose wording also occurs on an accepted signal is taken as a pass and left
    out. ``count`` counts vetoed signals giving the reason; ``share`` divides by all vetoed signals.
    """
    if not len(signals):
        return _rows_frame([], "reason", ["count", "share"])
    column = "vetoes" if "vetoes" in signals.columns else "reasons"
    rows = rd.veto_rows(
        signals["accepted"].astype(bool).to_numpy(),
        signals[column].fillna("").astype(str).tolist(),
        vetoes=column == "vetoes",
        top=top,
    )
    return _rows_frame(rows, "reason", ["count", "share"]).astype({"count": "int64"})


def opening_ranges(bars: pd.DataFrame, signals: pd.DataFrame, minutes: int = 15) -> pd.DataFrame:
    """Per day (naive date): the opening range high/low of one symbol.

    From the day's first signal with a finite range when there is one (what the strategy saw),
    else the bars of the first ``minutes`` after 09:30 New York. ``bars``: OHLC on naive New York
    times (the index); ``signals`` already filtered to the symbol.
    """
    import pandas as pd

    local = rd.local_bars(bars)
    if len(signals) and {"range_high", "range_low"} <= set(signals.columns):
        sig_t = rd.local_ns(_utc_ns(signals["time"]))
        high = pd.to_numeric(signals["range_high"], errors="coerce").to_numpy(dtype=np.float64)
        low = pd.to_numeric(signals["range_low"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        sig_t, high, low = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    ranges = rd.opening_ranges(local, sig_t, high, low, minutes)
    index = pd.DatetimeIndex(np.asarray([d * rd.DAY for d in ranges], dtype="datetime64[ns]"), name="day")
    return pd.DataFrame([list(v) for v in ranges.values()], index=index, columns=["high", "low"])


def has_opening_range(signals: pd.DataFrame | Table) -> bool:
    """Whether the strategy's signals carry an opening range (ORB's do; a strategy without one not)."""
    table = signals if isinstance(signals, Table) else Table.from_frame(signals)
    if not len(table) or not {"range_high", "range_low"} <= set(table.columns):
        return False
    return bool(np.isfinite(rd.floats(table, "range_high")).any())


# ---------------------------------------------------------------------------------------------
# Figures (plotly.js JSON)


def _equity_figure(points: rd.EquityPoints) -> Figure:
    x = rd.labels(points.t, "D") if points.daily else rd.labels(points.t)
    breaks = rd.gap_breaks(points.t)
    return {
        "data": [
            {
                "type": "scatter",
                "x": x,
                "y": points.equity,
                "name": "equity",
                "line": {"color": "#1f77b4"},
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                "type": "scatter",
                "x": x,
                "y": points.drawdown * 100,
                "name": "drawdown %",
                "fill": "tozeroy",
                "line": {"color": "#d62728"},
                "xaxis": "x2",
                "yaxis": "y2",
            },
        ],
        "layout": {  # plotly's make_subplots(rows=2, shared_xaxes, row_heights [0.7, 0.3], spacing 0.04)
            "xaxis": {
                "anchor": "y",
                "domain": [0.0, 1.0],
                "matches": "x2",
                "showticklabels": False,
                "rangebreaks": breaks,
            },
            "yaxis": {"anchor": "x", "domain": [0.328, 1.0], "title": {"text": "equity"}},
            "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0], "rangebreaks": breaks},
            "yaxis2": {"anchor": "x2", "domain": [0.0, 0.288], "title": {"text": "drawdown %"}},
            "title": {"text": "Equity and drawdown"},
            "showlegend": False,
            "hovermode": "x unified",
        },
    }


def _day_selector(views: list[tuple[int, list[str], list[float]]], whole: list[str]) -> list[dict[str, Any]]:
    """A dropdown: one day per view (x and y fitted to that day, ticks every half hour), or all days."""
    day_axis = {"xaxis.tickmode": "linear", "xaxis.dtick": 30 * 60 * 1000, "xaxis.tickformat": "%H:%M"}
    buttons = [
        {
            "label": rd.day_date(day).strftime("%a %Y-%m-%d"),
            "method": "relayout",
            "args": [
                {
                    "xaxis.range": x,
                    "yaxis.range": y,
                    "xaxis.tick0": f"{rd.day_date(day):%Y-%m-%d} 09:30",
                    **day_axis,
                }
            ],
        }
        for day, x, y in views
    ]
    days = [f"{rd.day_date(day):%Y-%m-%d} 09:30" for day, _, _ in views]
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
                    "xaxis.ticktext": [f"{rd.day_date(day):%b %d}" for day, _, _ in views],
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


def _candles(
    symbol: str, bars: rd.LocalBars, trades: Table, signals: Table, minutes: int | None
) -> tuple[str, str]:
    """(note, figure html) for one symbol; the figure is empty when there is nothing to show.

    One day per view: the chart opens on the last day shown, fitted to its candles, with a
    dropdown to pick another day (or all of them, one date tick a day). ``minutes``: the opening
    range to draw (``None``: the strategy has none, no range lines). ``trades`` and ``signals``
    are the symbol's rows.
    """
    entry_t = rd.local_ns(rd.time_values(trades, "entry_time"))
    signal_t = rd.local_ns(rd.time_values(signals, "time"))
    bar_days = bars.t // rd.DAY
    wanted = rd.unique(np.concatenate([entry_t // rd.DAY, signal_t // rd.DAY]))
    active = wanted[np.isin(wanted, bar_days)]
    if not len(active):
        return _note(f"{symbol}: no day with a trade or a signal."), ""
    shown = active[-MAX_CANDLE_DAYS:]
    view = rd.to_five_minutes(bars.where(np.isin(bar_days, shown)))
    x = rd.labels(view.t)
    data: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "x": x,
            "open": view.open,
            "high": view.high,
            "low": view.low,
            "close": view.close,
            "name": symbol,
        },
    ]
    marks: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    if minutes is not None:
        ranges = rd.opening_ranges(
            view, signal_t, rd.floats(signals, "range_high"), rd.floats(signals, "range_low"), minutes
        )
        view_days = view.t // rd.DAY
        first: dict[int, str] = {}
        last: dict[int, str] = {}
        for day, label in zip(view_days.tolist(), x, strict=True):
            first.setdefault(day, label)
            last[day] = label
        range_days = np.asarray(list(ranges), dtype=np.int64)
        for i, (side, colour) in enumerate((("high", "#1f77b4"), ("low", "#ff7f0e"))):
            xs: list[str | None] = []
            ys: list[float | None] = []
            for day, levels in ranges.items():
                if day in first:
                    xs += [first[day], last[day], None]
                    ys += [levels[i], levels[i], None]
            data.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "name": f"range {side}",
                    "line": {"color": colour, "dash": "dot", "width": 1},
                }
            )
            level = np.asarray([v[i] for v in ranges.values()], dtype=np.float64)
            marks.append((range_days * rd.DAY + rd.SESSION_OPEN, level))
    marked = [view.t]
    if len(trades):
        keep = np.flatnonzero(np.isin(entry_t // rd.DAY, shown))
        keep = keep[np.argsort(entry_t[keep], kind="stable")]
        entry_t = entry_t[keep]
        exit_t = rd.local_ns(rd.time_values(trades, "exit_time"))[keep]
        entry_price = rd.floats(trades, "entry_price")[keep]
        exit_price = rd.floats(trades, "exit_price")[keep]
        pnl = rd.floats(trades, "pnl")[keep]
        sides = [rd.texts(trades, "side")[i] for i in keep.tolist()]
        qty = [trades.columns["qty"].python()[i] for i in keep.tolist()]
        reasons = np.asarray([rd.texts(trades, "exit_reason")[i] for i in keep.tolist()], dtype=object)
        marks += [(entry_t, entry_price), (exit_t, exit_price)]
        data.append(
            {
                "type": "scatter",
                "x": rd.labels(entry_t),
                "y": entry_price,
                "mode": "markers",
                "name": "entry",
                "marker": {
                    "symbol": ["triangle-up" if s == "buy" else "triangle-down" for s in sides],
                    "size": 11,
                    "color": "#1f77b4",
                    "line": {"width": 1, "color": "black"},
                },
                "text": [f"{s} {q}" for s, q in zip(sides, qty, strict=True)],
            }
        )
        marked += [entry_t, exit_t]
        for reason in sorted(set(reasons.tolist())):
            pick = np.flatnonzero(reasons == reason)
            pick = pick[np.argsort(exit_t[pick], kind="stable")]
            data.append(
                {
                    "type": "scatter",
                    "x": rd.labels(exit_t[pick]),
                    "y": exit_price[pick],
                    "mode": "markers",
                    "name": f"exit: {reason}",
                    "text": [f"pnl {p:,.2f}" for p in pnl[pick].tolist()],
                    "marker": {"symbol": "x", "size": 10, "color": _EXIT_COLOURS.get(reason, "#17becf")},
                }
            )
    step = int(np.diff(view.t).min()) if len(view) > 1 else rd.FIVE_MINUTES  # one candle
    everything = rd.floor_minute(np.concatenate(marked))
    # Explicit ranges: plotly's autorange pads for the markers in time *including* the hidden
    # gaps, and fits y to every day at once, which squeezes one day's candles flat.
    whole = rd.labels(np.asarray([everything.min() - step // 2, everything.max() + step // 2]), "s")
    views = rd.day_views(view, marks, step)
    last_day, last_x, last_y = views[-1]
    what = "opening range, entries and exits" if minutes is not None else "entries and exits"
    layout = {
        "xaxis": {
            "rangebreaks": rd.gap_breaks(everything, step),
            "range": last_x,
            "rangeslider": {"visible": False},
            "tickmode": "linear",
            "tick0": f"{rd.day_date(last_day):%Y-%m-%d} 09:30",
            "dtick": 30 * 60 * 1000,
            "tickformat": "%H:%M",
        },
        "yaxis": {"range": last_y},
        "title": {"text": f"{symbol}: 5m bars, {what}"},
        "hovermode": "closest",
        "updatemenus": _day_selector(views, whole),
    }
    more = f"the last {len(shown)} of {len(active)}" if len(active) > len(shown) else f"all {len(shown)}"
    note = _note(f"{symbol}: {more} days with a trade or a signal; pick a day above the chart.")
    div = f"candles-{re.sub(r'[^A-Za-z0-9_-]', '_', symbol)}"
    return note, _figure({"data": data, "layout": layout}, div, 480)


def _pnl_figure(pnl: npt.NDArray[np.float64]) -> Figure:
    edges = np.histogram_bin_edges(pnl, bins=int(min(40, max(5, math.sqrt(len(pnl)) * 2))))
    width = float(edges[1] - edges[0]) or 1.0
    bins = {"start": float(edges[0]), "end": float(edges[-1]) + width, "size": width}  # one grid for both
    return {
        "data": [
            {
                "type": "histogram",
                "x": pnl[pnl > 0],
                "name": "wins",
                "marker": {"color": "#2ca02c"},
                "xbins": bins,
            },
            {
                "type": "histogram",
                "x": pnl[pnl <= 0],
                "name": "losses",
                "marker": {"color": "#d62728"},
                "xbins": bins,
            },
        ],
        "layout": {
            "title": {"text": f"P&L per trade ({len(pnl)} trades)"},
            "barmode": "stack",
            "bargap": 0.05,
            "xaxis": {"title": {"text": "pnl"}},
            "yaxis": {"title": {"text": "trades"}},
        },
    }


# ---------------------------------------------------------------------------------------------
# The single-backtest report


def _period(result: BacktestResult) -> str:
    start, end = result.summary.get("start"), result.summary.get("end")
    equity_t = rd.time_values(result.table("equity"), "time")
    if (start is None or end is None) and len(equity_t):
        days = rd.labels(rd.local_ns(equity_t[[0, -1]]), "D")
        start, end = days[0], days[-1]
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


def _rows_of(table: Table, symbol: str) -> Table:
    """The rows of one symbol."""
    if not len(table):
        return table
    mine = np.flatnonzero(np.asarray(rd.texts(table, "symbol"), dtype=object) == symbol)
    return table.take(mine)


def write_report(result: BacktestResult, path: Path) -> Path:
    """Write the self-contained HTML report of one backtest to ``path`` (parents created)."""
    cfg = result.config
    trades, signals, equity = result.table("trades"), result.table("signals"), result.table("equity")
    body = _header(result)
    body.append('<h2 id="equity">Equity and drawdown</h2>')
    if len(equity):
        points = rd.equity_points(
            rd.time_values(equity, "time"),
            rd.floats(equity, "equity"),
            cfg.initial_capital,
            MAX_EQUITY_POINTS,
        )
        if points.daily:
            body.append(
                _note(
                    f"{len(equity):,} equity samples: one point per session "
                    "(last equity, deepest drawdown of the day)."
                )
            )
        body.append(_figure(_equity_figure(points), "equity-chart", 520))
    else:
        body.append(_note("No equity samples."))
    ranged = has_opening_range(signals)
    title = "Price, opening range and trades" if ranged else "Price and trades"
    body.append(f'<h2 id="price">{title}</h2>')
    bars: Mapping[str, Any] = result.bar_sources
    if not bars:
        body.append(_note("Input bars were not kept for this result (keep_bars=False)."))
    for symbol in sorted(bars):
        minutes = getattr(cfg.strategy, "opening_range_minutes", 15) if ranged else None
        local = rd.local_bars(bars[symbol])
        note, fig = _candles(symbol, local, _rows_of(trades, symbol), _rows_of(signals, symbol), minutes)
        body += [note, fig]
    no_trades = _note("No trades in this backtest.")
    pnl = rd.floats(trades, "pnl")
    body.append('<h2 id="pnl">P&amp;L distribution</h2>')
    body.append(_figure(_pnl_figure(pnl), "pnl-chart", 380) if len(trades) else no_trades)
    body.append('<h2 id="per-symbol">Per symbol</h2>')
    if len(trades):
        columns = ["trades", "win_rate", "total_pnl", "avg_pnl", "profit_factor"]
        body.append(
            _rows_table("symbol", columns, rd.symbol_rows(rd.texts(trades, "symbol"), pnl), "symbol-table")
        )
    else:
        body.append(no_trades)
    body.append('<h2 id="per-month">Per month</h2>')
    months = rd.month_rows(
        rd.time_values(trades, "exit_time"),
        pnl,
        rd.time_values(equity, "time"),
        rd.floats(equity, "equity"),
        cfg.initial_capital,
    )
    body.append(
        _rows_table("month", ["trades", "pnl", "return"], months, "month-table") if months else no_trades
    )
    body.append('<h2 id="signals">Signals</h2>')
    if len(signals):
        accepted = rd.bools(signals, "accepted")
        counts = rd.signal_rows(rd.texts(signals, "symbol"), accepted)
        body.append(_rows_table("symbol", ["signals", "accepted", "vetoed"], counts, "signal-table"))
        column = "vetoes" if "vetoes" in signals.columns else "reasons"
        vetoes = rd.veto_rows(accepted, rd.texts(signals, column), vetoes=column == "vetoes")
        body.append("<h3>Most common veto reasons</h3>")
        table = _rows_table("reason", ["count", "share"], vetoes, "veto-table")
        body.append(table if vetoes else _note("No vetoed signals."))
    else:
        body.append(_note("No signals."))
    return _write_page(path, f"vibe backtest {_period(result)}", body)


# ---------------------------------------------------------------------------------------------
# The sweep report


def _new_figure(*traces: Any) -> go.Figure:
    import plotly.graph_objects as go

    return go.Figure(list(traces), layout={"template": _TEMPLATE})


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
    import pandas as pd
    import plotly.graph_objects as go

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
    return _write_page(path, f"vibe sweep: {metric}", body)


def _stability_section(
    frame: pd.DataFrame,
    keys: list[str],
    metric: str,
    lower: bool,
    scale: str,
    z: npt.NDArray[np.float64] | None,
) -> list[str]:
    """The parameter-stability view: each cell against its grid neighbours (a lone peak shows)."""
    import pandas as pd
    import plotly.graph_objects as go

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
