"""The dashboard's tables colour cells with formatters, never with Styler rules (no browser here;
``test_results_mode`` checks the colours in chromium).

Styler rules make Panel send the cells' styles with every update, and its Tabulator view then
redraws the table even when the dynamic Tabs have taken it out of the page, which throws in the
browser. So a table must carry no style rules and its model no cell styles, before and after updates.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bokeh.document import Document
from bokeh.models.widgets.tables import HTMLTemplateFormatter

from vibe_panel import frames
from vibe_panel.views import tables
from vibe_panel.views.tables import DataTable

TRADE = {"symbol": "AAPL", "side": "long", "qty": 10, "exit_time": "2024-07-26T14:14:59Z",
         "exit_reason": "stop"}  # fmt: skip
POSITION = {"symbol": "AAPL", "qty": 10, "avg_price": 100.0, "last_price": 101.0}
SIGNAL = {"time": "2024-07-26T14:14:59Z", "symbol": "AAPL", "side": "long", "vetoes": [], "reasons": []}
FILL = {"time": "2024-07-26T14:14:59Z", "symbol": "AAPL", "side": "buy", "qty": 10, "price": 100.0}

#: each table, a frame of it holding a gain, a loss, zero and a blank, and its coloured columns
CASES: dict[str, tuple[Callable[[], DataTable], Callable[[], object], tuple[str, ...]]] = {
    "trades": (
        tables.trades_table,
        lambda: frames.trades_frame(
            [{**TRADE, "pnl": p, "r_multiple": r} for p, r in ((12.5, 1.2), (-3.25, -0.4), (0.0, None))]
        ),
        ("pnl", "r_multiple"),
    ),
    "positions": (
        tables.positions_table,
        lambda: frames.positions_frame(
            [{**POSITION, "unrealized_pnl": u, "realized_pnl": r} for u, r in ((5.0, -1.0), (-2.0, None))]
        ),
        ("unrealized_pnl", "realized_pnl"),
    ),
    "fills": (tables.fills_table, lambda: frames.fills_frame([FILL, {**FILL, "price": 99.5}]), ()),
    "signals": (
        tables.signals_table,
        lambda: frames.signals_frame(
            [{**SIGNAL, "verdict": "accepted"}, {**SIGNAL, "verdict": "vetoed", "vetoes": ["spread"]}]
        ),
        ("verdict",),
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_tables_carry_no_style_rules_and_send_no_cell_styles(kind: str):
    make, frame, _ = CASES[kind]
    table = make()
    model = table.table.get_root(Document())
    for rows in (frame(), frame().iloc[::-1].reset_index(drop=True)):  # a first update, then another
        table.update(rows)
        assert table.rows == len(rows) > 0
        styler = table.table.style
        assert styler is not None and styler.export()["apply"] == []
        assert model.cell_styles.get("data", {}) == {}


@pytest.mark.parametrize("kind", list(CASES))
def test_coloured_columns_have_the_colour_templates(kind: str):
    make, frame, coloured = CASES[kind]
    table = make()
    table.update(frame())
    model = table.table.get_root(Document())
    formatters = {c.field: c.formatter for c in model.columns}
    for column in frames.ROUNDED:
        if column in formatters and column not in coloured:
            assert formatters[column].format == tables.MONEY_FORMAT, column
    for column in coloured:
        template = formatters[column]
        assert isinstance(template, HTMLTemplateFormatter), column
        assert tables.GAIN in template.template and tables.LOSS in template.template
