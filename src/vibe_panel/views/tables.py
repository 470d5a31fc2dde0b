"""The tables: closed trades (P&L coloured), open positions, fills, and signals with their vetoes.

Each is a read-only ``pn.widgets.Tabulator`` whose ``value`` is replaced by a frame from
:mod:`vibe_panel.frames`; the P&L colouring is a pandas Styler rule the table keeps across updates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from vibe_panel import frames

__all__ = ["DataTable", "pnl_colour", "trades_table", "positions_table", "fills_table", "signals_table"]

GAIN, LOSS = "#1e8449", "#c0392b"


def pnl_colour(value: Any) -> str:
    """The CSS of a P&L cell: green above zero, red below, plain otherwise."""
    if isinstance(value, int | float) and not pd.isna(value):
        if value > 0:
            return f"color: {GAIN}; font-weight: bold"
        if value < 0:
            return f"color: {LOSS}; font-weight: bold"
    return ""


def verdict_colour(value: Any) -> str:
    """Accepted signals green, vetoed ones red."""
    if not value:
        return ""
    return f"color: {GAIN}" if value == "accepted" else f"color: {LOSS}"


class DataTable:
    """A named Tabulator over one frame kind; ``update`` swaps the rows when they changed."""

    def __init__(
        self, name: str, empty: pd.DataFrame, *, pnl: Sequence[str] = (), page_size: int = 15
    ) -> None:
        self.name = name
        self.table = pn.widgets.Tabulator(
            empty,
            disabled=True,
            show_index=False,
            pagination="local",
            page_size=page_size,
            sizing_mode="stretch_width",
            layout="fit_data_table",
            css_classes=[f"vibe-{name}"],
            label=name,
            formatters={c: NumberFormatter(format="0,0.00") for c in frames.ROUNDED if c in empty},
        )
        if pnl:
            self.style(pnl_colour, pnl)
        self.panel = self.table

    def update(self, frame: pd.DataFrame) -> None:
        if not frame.equals(self.table.value):
            self.table.value = frame

    def style(self, rule: Callable[[Any], str], columns: Sequence[str]) -> None:
        """Colour ``columns``' cells by ``rule`` (kept by the table across value changes)."""
        styler = self.table.style
        assert styler is not None
        styler.map(rule, subset=list(columns))

    @property
    def rows(self) -> int:
        return len(self.table.value)


def trades_table() -> DataTable:
    return DataTable("trades", frames.trades_frame([]), pnl=("pnl", "r_multiple"))


def positions_table() -> DataTable:
    return DataTable("positions", frames.positions_frame([]), pnl=("unrealized_pnl", "realized_pnl"))


def fills_table() -> DataTable:
    return DataTable("fills", frames.fills_frame([]))


def signals_table() -> DataTable:
    table = DataTable("signals", frames.signals_frame([]))
    table.style(
        lambda v: f"color: {GAIN}" if v == "accepted" else (f"color: {LOSS}" if v else ""), ["verdict"]
    )
    return table
