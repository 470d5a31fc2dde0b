"""``vibe-panel serve --results DIR``: the dashboard over a finished backtest, in headless chromium.

The folder is a real ``vibe-backtest run`` of the sample market; the API's own results app serves it
(in-process, a free port) and the dashboard reads it through the same client as a live service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import expect

from vibe_backtest.cli import main as backtest_main
from vibe_panel import frames
from vibe_panel.server import results_api, start_dashboard
from vibe_panel.views.tables import GAIN, LOSS


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backtest") / "run"
    assert backtest_main(["run", "--out", str(out), "--no-report", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def results_url(results_dir: Path) -> Iterator[str]:
    with results_api(results_dir) as api_url:
        server = start_dashboard(api_url, live=False)
        try:
            yield server.url
        finally:
            server.stop()


def test_results_mode_renders_the_backtest(page: Any, results_url: str, results_dir: Path, artifacts: Path):
    trades = pd.read_csv(results_dir / "trades.csv")
    newest = trades.sort_values("exit_time").iloc[-1]
    page.goto(results_url)
    first = page.locator(".vibe-trades .tabulator-row").first
    expect(first).to_contain_text(frames.ny_time(newest["exit_time"]), timeout=30_000)
    expect(first).to_contain_text(str(newest["symbol"]))
    expect(first.locator("[tabulator-field='pnl']")).to_have_text(f"{float(newest['pnl']):,.2f}")
    expect(page.locator(".vibe-state")).to_contain_text(f"{len(trades)} trades in all")
    expect(page.locator(".vibe-updated")).to_contain_text("updated")  # the charts are drawn too
    summary = json.loads((results_dir / "summary.json").read_text())
    expect(page.locator(".vibe-performance")).to_contain_text(f"{summary['n_trades']} trades")
    page.screenshot(path=str(artifacts / "results.png"), full_page=True)
    assert page.console.errors == []


def _rgb(hex_colour: str) -> str:
    """A ``#rrggbb`` colour as the browser's computed style writes it."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _cells(page: Any, field: str) -> list[tuple[str, str, str]]:
    """Each cell of a trades column on the shown page: its text, and the computed colour and weight
    of its content (the locator reaches into Bokeh's shadow roots, ``querySelectorAll`` would not)."""
    cells = page.locator(f".vibe-trades .tabulator-row [tabulator-field='{field}']")
    found = cells.evaluate_all(
        """cells => cells.map(cell => {
            const style = getComputedStyle(cell.firstElementChild || cell)
            return [cell.textContent.trim(), style.color, style.fontWeight]
        })"""
    )
    return [tuple(cell) for cell in found]


def test_pnl_cells_are_green_above_zero_and_red_below(page: Any, results_url: str, results_dir: Path):
    trades = pd.read_csv(results_dir / "trades.csv").sort_values("exit_time", ascending=False)
    shown = trades["pnl"].head(15)  # the first page, newest first
    assert (shown > 0).any() and (shown < 0).any(), "the sample's first page should hold gains and losses"
    page.goto(results_url)
    # everything drawn (the charts come after the tables), so the page is idle when it closes
    expect(page.locator(".vibe-updated")).to_contain_text("updated", timeout=30_000)
    expect(page.locator(".vibe-trades .tabulator-row")).to_have_count(len(shown))
    plain = _cells(page, "symbol")[0][1]
    cells = _cells(page, "pnl")
    assert [text for text, _, _ in cells] == [f"{p:,.2f}" for p in shown]
    for (text, colour, weight), pnl in zip(cells, shown, strict=True):
        expected = _rgb(GAIN) if pnl > 0 else _rgb(LOSS) if pnl < 0 else plain
        assert (colour, weight) == (expected, "700" if pnl else "400"), text
    r_multiples = [(float(text.replace(",", "")), colour) for text, colour, _ in _cells(page, "r_multiple")]
    assert {colour for r, colour in r_multiples if r > 0} == {_rgb(GAIN)}  # the R multiple too
    assert {colour for r, colour in r_multiples if r < 0} == {_rgb(LOSS)}
    assert page.console.errors == []
