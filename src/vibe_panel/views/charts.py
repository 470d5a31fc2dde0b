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
        self._last_time: str | None = None
        self._peak = float("-inf")
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

    @property
    def since(self) -> str | None:
        """The time of the last point shown: the next read asks from there (inclusive)."""
        return self._last_time

    def update(self, rows: list[Mapping[str, Any]]) -> None:
        """Add the points at or after the last one shown; the last one is replaced (a sample of the
        current interval may still move). Only the new points travel to the browser."""
        last = self._last_time
        rows = [r for r in rows if last is None or str(r["time"]) >= last]
        if not rows:
            return
        frame = frames.equity_frame(rows)
        equity = frame["equity"].to_numpy(dtype=float)
        peaks = pd.Series(equity).cummax().clip(lower=self._peak).to_numpy()
        self._peak = float(peaks[-1])
        data = {
            "time": _naive(frame["time"]).tolist(),
            "equity": equity.tolist(),
            "drawdown": ((equity / peaks - 1.0) * 100.0).tolist(),
        }
        n = len(self.source.data["time"])
        if last is not None and str(rows[0]["time"]) == last and n:
            self.source.patch({k: [(n - 1, v[0])] for k, v in data.items()})
            data = {k: v[1:] for k, v in data.items()}
        if data["time"]:
            self.source.stream(data)
        self._last_time = str(rows[-1]["time"])


class CandleChart:
    """The chosen symbol's recent 5m bars, its opening range (a band) and the trades' entries/exits."""

    def __init__(self) -> None:
        self.symbol = pn.widgets.Select(label="Symbol", options=[], width=120)
        self.day = pn.widgets.Select(label="Day", options=[], width=140)
        self._answer: Mapping[str, Any] = {}
        self._frame = frames.bars_frame([])
        self.day.param.watch(lambda _e: self.draw(), "value")
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
        fig.legend.location = "top_right"
        fig.legend.orientation = "horizontal"
        fig.legend.background_fill_alpha = 0.6
        self.range_band = BoxAnnotation(fill_color="#f9a825", fill_alpha=0.15, visible=False)
        fig.add_layout(self.range_band)
        self.figure = fig
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self.panel = pn.Column(
            pn.Row(self.symbol, self.day, self.caption),
            pn.pane.Bokeh(fig, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def set_symbols(self, symbols: list[str], preferred: str | None = None) -> None:
        """The picker's symbols; a new pick is ``preferred`` (the latest trade's) when it is listed."""
        if symbols != list(self.symbol.options):
            current = self.symbol.value
            self.symbol.options = symbols
            if current not in symbols and symbols:
                self.symbol.value = preferred if preferred in symbols else symbols[0]

    def update(self, answer: Mapping[str, Any]) -> None:
        """Take a ``/api/bars/{symbol}`` answer; the day picker lists its sessions (newest chosen)."""
        self._answer = answer
        self._frame = frames.bars_frame(answer.get("bars") or [])
        days = sorted(set(self._frame["time"].dt.strftime("%Y-%m-%d")), reverse=True)
        if days != list(self.day.options):
            latest = days[0] if days else None
            self.day.options = days
            if self.day.value != latest:
                self.day.value = latest  # the watcher draws
                return
        self.draw()

    def draw(self) -> None:
        """Draw the chosen day's bars, its entries and exits, and its opening range when known."""
        answer, frame, day = self._answer, self._frame, self.day.value
        if day is not None:
            frame = frame[frame["time"].dt.strftime("%Y-%m-%d") == day]
        self.bars.data = {
            "time": _naive(frame["time"]).tolist(),
            **{c: frame[c].astype(float).tolist() for c in ("open", "high", "low", "close")},
            "colour": [_UP if c >= o else _DOWN for o, c in zip(frame["open"], frame["close"], strict=True)],
        }
        markers = answer.get("markers") or []
        for source, kind in ((self.entries, "entry"), (self.exits, "exit")):
            times = pd.to_datetime(
                pd.Series([m["time"] for m in markers if m.get("kind") == kind], dtype=object), utc=True
            ).dt.tz_convert(frames.NY)
            chosen = [m for m in markers if m.get("kind") == kind]
            keep = [i for i, t in enumerate(times) if day is None or t.strftime("%Y-%m-%d") == day]
            source.data = {
                "time": [_naive(times).iloc[i] for i in keep],
                "price": [float(chosen[i]["price"]) for i in keep],
                "side": [chosen[i].get("side") for i in keep],
                "pnl": [chosen[i].get("pnl") for i in keep],
            }
        self._opening_range(answer.get("opening_range"), frame, day)
        self.figure.title = f"{answer.get('symbol', '')} {answer.get('timeframe', '5m')} bars {day or ''}"

    def _opening_range(self, rng: Mapping[str, Any] | None, frame: pd.DataFrame, day: str | None) -> None:
        if not rng or not len(frame) or str(rng.get("date")) != day:
            self.range_band.visible = False
            self.caption.object = "no opening range for this day" if rng else "no opening range yet"
            return
        start, end = _naive(frame["time"]).iloc[[0, -1]]
        self.range_band.left, self.range_band.right = start, end + pd.Timedelta(minutes=5)
        self.range_band.bottom, self.range_band.top = float(rng["low"]), float(rng["high"])
        self.range_band.visible = True
        self.caption.object = f"opening range {day}: {float(rng['low']):.2f} .. {float(rng['high']):.2f}"
