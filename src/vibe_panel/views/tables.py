"""The tables: closed trades (P&L coloured), open positions, fills, and signals with their vetoes.

Each is a read-only ``pn.widgets.Tabulator`` whose ``value`` is replaced by a frame from
:mod:`vibe_panel.frames`. Colours come from cell formatters (HTML templates run by the browser for
each cell), never from a pandas Styler. With Styler rules Panel sends the cells' styles after every
update and its Tabulator view, having applied styles, redraws the table for each, even when the
dynamic Tabs have taken it out of the page, where Tabulator 6.4 throws ("reading 'offsetWidth'").
Without rules Panel's ``cell_styles`` stay empty (still re-sent with each update, with a new id),
the view never applies a style, so it never redraws for them (Panel 1.9's ``tabulator.ts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import CellFormatter, HTMLTemplateFormatter, NumberFormatter

from vibe_panel import frames

__all__ = [
    "DataTable",
    "GAIN",
    "LOSS",
    "signed_formatter",
    "verdict_formatter",
    "trades_table",
    "positions_table",
    "fills_table",
    "signals_table",
]

GAIN, LOSS = "#1e8449", "#c0392b"
#: a P&L cell's CSS above and below zero (zero and blanks stay plain)
GAIN_CSS, LOSS_CSS = f"color: {GAIN}; font-weight: bold", f"color: {LOSS}; font-weight: bold"
#: what the money columns show (Bokeh's numbro format; ``signed_formatter`` writes the same)
MONEY_FORMAT = "0,0.00"


def signed_formatter() -> HTMLTemplateFormatter:
    """A P&L cell as the money columns show it (``-1,234.50``: to the cent, thousands grouped,
    right-aligned, ``-`` for none), green and bold above zero, red and bold below."""
    number = "(value + 0).toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2})"
    css = f"value > 0 ? '; {GAIN_CSS}' : (value < 0 ? '; {LOSS_CSS}' : '')"
    return HTMLTemplateFormatter(
        template=(
            "<% if (typeof value !== 'number' || isNaN(value)) { %>"
            '<div style="text-align: right">-</div>'
            f'<% }} else {{ %><div style="text-align: right<%= {css} %>"><%= {number} %></div><% }} %>'
        )
    )


def verdict_formatter() -> HTMLTemplateFormatter:
    """A signal's verdict: ``accepted`` green, any other (``vetoed``) red, blank plain."""
    return HTMLTemplateFormatter(
        template=(
            f"<% if (value) {{ %><div style=\"color: <%= value === 'accepted' ? '{GAIN}' : '{LOSS}' %>\">"
            "<%- value %></div><% } %>"
        )
    )


class DataTable:
    """A named Tabulator over one frame kind; ``update`` swaps the rows when they changed.

    Money columns (:data:`frames.ROUNDED`) show to the cent; ``pnl`` names the ones coloured by
    sign; ``formatters`` sets other columns' cells.
    """

    def __init__(
        self,
        name: str,
        empty: pd.DataFrame,
        *,
        pnl: Sequence[str] = (),
        formatters: Mapping[str, CellFormatter] | None = None,
        page_size: int = 15,
    ) -> None:
        self.name = name
        cells: dict[str, CellFormatter] = {
            c: NumberFormatter(format=MONEY_FORMAT) for c in frames.ROUNDED if c in empty
        }
        cells |= {c: signed_formatter() for c in pnl}
        cells |= formatters or {}
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
            formatters=cells,
        )
        self.panel = self.table

    def update(self, frame: pd.DataFrame) -> None:
        if not frame.equals(self.table.value):
            self.table.value = frame

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
    return DataTable("signals", frames.signals_frame([]), formatters={"verdict": verdict_formatter()})
