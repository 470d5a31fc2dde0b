"""The dashboard's tables colour cells with formatters, never with Styler rules; what the formatters
show is checked in headless chromium on a page of these tables alone (and over a backtest in
``test_results_mode``).

Styler rules make Panel send the cells' styles with every update, and its Tabulator view then
redraws the table even when the dynamic Tabs have taken it out of the page, which throws in the
browser. So a table must carry no style rules and its model no cell styles, before and after updates.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models.widgets.tables import HTMLTemplateFormatter
from playwright.sync_api import expect

from vibe_panel import frames
from vibe_panel.server import free_port
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


#: P&L values, what the cell shows and its colour: grouped, to the cent, "-" for none, -0 is 0
SHOWN = (
    (1234.5, "1,234.50", tables.GAIN),
    (-3.25, "-3.25", tables.LOSS),
    (0.001, "0.00", None),
    (-0.001, "0.00", None),
    (None, "-", None),
)
VERDICTS = (("accepted", tables.GAIN), ("vetoed", tables.LOSS))


def _page() -> pn.Column:
    trades, signals = tables.trades_table(), tables.signals_table()
    trades.update(frames.trades_frame([{**TRADE, "pnl": pnl} for pnl, _, _ in SHOWN]))
    signals.update(frames.signals_frame([{**SIGNAL, "verdict": v} for v, _ in VERDICTS]))
    return pn.Column(trades.panel, signals.panel)


@pytest.fixture(scope="module")
def tables_url() -> Iterator[str]:
    port = free_port()
    server = pn.serve(
        {"/": _page}, address="127.0.0.1", port=port, threaded=True, start=True, show=False,
        websocket_origin=[f"127.0.0.1:{port}"],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stop()
        server.join(timeout=10)


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _cells(page: Any, table: str, field: str) -> list[tuple[str, str, str]]:
    """Text, computed colour and weight of a column's cells (the locator pierces Bokeh's shadow roots)."""
    cells = page.locator(f".vibe-{table} .tabulator-row [tabulator-field='{field}']")
    return [
        tuple(c)
        for c in cells.evaluate_all(
            """cells => cells.map(cell => {
                const style = getComputedStyle(cell.firstElementChild || cell)
                return [cell.textContent.trim(), style.color, style.fontWeight]
            })"""
        )
    ]


def test_the_formatters_show_money_and_colour_it_by_sign(page: Any, tables_url: str):
    page.goto(tables_url)
    expect(page.locator(".vibe-trades .tabulator-row")).to_have_count(len(SHOWN), timeout=30_000)
    expect(page.locator(".vibe-signals .tabulator-row")).to_have_count(len(VERDICTS))
    plain = _cells(page, "trades", "symbol")[0][1]
    shown = [(text, colour, weight) for text, colour, weight in _cells(page, "trades", "pnl")]
    expected = [(text, _rgb(c) if c else plain, "700" if c else "400") for _, text, c in SHOWN]
    assert shown == expected
    assert [(t, c) for t, c, _ in _cells(page, "signals", "verdict")] == [(v, _rgb(c)) for v, c in VERDICTS]
    assert page.console.errors == []
