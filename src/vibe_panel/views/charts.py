"""Charts (Bokeh, served by Panel from its own static files): equity with drawdown, and per-symbol
5m candlesticks with the opening range, entries and exits.

Each chart owns its ``ColumnDataSource`` objects and replaces their ``data`` on update, so the
figure and its axes stay and only the numbers travel to the browser. Times are New York wall time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models import BoxAnnotation, ColumnDataSource, HoverTool  # type: ignore[attr-defined]
from bokeh.plotting import figure

from vibe_panel import frames

__all__ = ["EquityChart", "CandleChart"]

_UP, _DOWN = "#26a69a", "#ef5350"
_BAR_MS = 5 * 60 * 1000


def _naive(series: pd.Series) -> pd.Series:
    return series.dt.tz_localize(None) if len(series) else series


class EquityChart:
    """Equity (line) over drawdown (area, % of the running peak), sharing the time axis."""

    def __init__(self) -> None:
        self.source = ColumnDataSource({"time": [], "equity": [], "drawdown": []})
        self.equity_fig = figure(
            height=260,
            x_axis_type="datetime",
            sizing_mode="stretch_width",
            title="Equity ($)",
            tools="pan,xwheel_zoom,box_zoom,reset",
        )
        self.equity_fig.line("time", "equity", source=self.source, line_width=2, color="#1f77b4")
        self.equity_fig.add_tools(
            HoverTool(
                tooltips=[("time", "@time{%F %H:%M}"), ("equity", "@equity{$0,0.00}")],
                formatters={"@time": "datetime"},
            )
        )
        self.drawdown_fig = figure(
            height=160, x_axis_type="datetime", sizing_mode="stretch_width", title="Drawdown (%)",
            x_range=self.equity_fig.x_range, tools="pan,xwheel_zoom,box_zoom,reset",
        )  # fmt: skip
        self.drawdown_fig.varea("time", y1=0, y2="drawdown", source=self.source, color=_DOWN, alpha=0.5)
        self.panel = pn.Column(
            pn.pane.Bokeh(self.equity_fig, sizing_mode="stretch_width"),
            pn.pane.Bokeh(self.drawdown_fig, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def update(self, rows: list[Mapping[str, Any]]) -> None:
        frame = frames.equity_frame(rows)
        self.source.data = {
            "time": _naive(frame["time"]).tolist(),
            "equity": frame["equity"].tolist(),
            "drawdown": (frame["drawdown"] * 100.0).tolist(),
        }


class CandleChart:
    """The chosen symbol's recent 5m bars, its opening range (a band) and the trades' entries/exits."""

    def __init__(self) -> None:
        self.symbol = pn.widgets.Select(name="Symbol", options=[], width=160)
        self.bars = ColumnDataSource(
            {"time": [], "open": [], "high": [], "low": [], "close": [], "colour": []}
        )
        self.entries = ColumnDataSource({"time": [], "price": [], "side": [], "pnl": []})
        self.exits = ColumnDataSource({"time": [], "price": [], "side": [], "pnl": []})
        fig = figure(
            height=380, x_axis_type="datetime", sizing_mode="stretch_width", title="5m bars",
            tools="pan,xwheel_zoom,box_zoom,reset",
        )  # fmt: skip
        fig.segment("time", "high", "time", "low", source=self.bars, color="colour")
        fig.vbar(
            "time", _BAR_MS * 0.7, "open", "close", source=self.bars, fill_color="colour", line_color="colour"
        )
        fig.scatter(
            "time",
            "price",
            source=self.entries,
            marker="triangle",
            size=12,
            color="#1565c0",
            legend_label="entry",
        )
        fig.scatter(
            "time",
            "price",
            source=self.exits,
            marker="inverted_triangle",
            size=12,
            color="#6a1b9a",
            legend_label="exit",
        )
        fig.legend.location = "top_left"
        self.range_band = BoxAnnotation(fill_color="#f9a825", fill_alpha=0.15, visible=False)
        fig.add_layout(self.range_band)
        self.figure = fig
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self.panel = pn.Column(
            pn.Row(self.symbol, self.caption),
            pn.pane.Bokeh(fig, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def set_symbols(self, symbols: list[str]) -> None:
        if symbols != list(self.symbol.options):
            current = self.symbol.value
            self.symbol.options = symbols
            if current not in symbols and symbols:
                self.symbol.value = symbols[0]

    def update(self, answer: Mapping[str, Any]) -> None:
        frame = frames.bars_frame(answer.get("bars") or [])
        self.bars.data = {
            "time": _naive(frame["time"]).tolist(),
            **{c: frame[c].astype(float).tolist() for c in ("open", "high", "low", "close")},
            "colour": [_UP if c >= o else _DOWN for o, c in zip(frame["open"], frame["close"], strict=True)],
        }
        markers = answer.get("markers") or []
        for source, kind in ((self.entries, "entry"), (self.exits, "exit")):
            chosen = [m for m in markers if m.get("kind") == kind]
            times = pd.to_datetime(
                pd.Series([m["time"] for m in chosen], dtype=object), utc=True
            ).dt.tz_convert(frames.NY)
            source.data = {
                "time": _naive(times).tolist(),
                "price": [float(m["price"]) for m in chosen],
                "side": [m.get("side") for m in chosen],
                "pnl": [m.get("pnl") for m in chosen],
            }
        self._opening_range(answer.get("opening_range"), frame)
        self.figure.title = f"{answer.get('symbol', '')} {answer.get('timeframe', '5m')} bars"

    def _opening_range(self, rng: Mapping[str, Any] | None, frame: pd.DataFrame) -> None:
        if not rng:
            self.range_band.visible = False
            self.caption.object = "no opening range yet"
            return
        day = frame[frame["time"].dt.strftime("%Y-%m-%d") == str(rng.get("date"))]
        if len(day):
            start, end = _naive(day["time"]).iloc[[0, -1]]
            self.range_band.left, self.range_band.right = start, end + pd.Timedelta(minutes=5)
        else:
            self.range_band.left = self.range_band.right = None
        self.range_band.bottom, self.range_band.top = float(rng["low"]), float(rng["high"])
        self.range_band.visible = True
        self.caption.object = (
            f"opening range {rng.get('date')}: {float(rng['low']):.2f} .. {float(rng['high']):.2f}"
        )
