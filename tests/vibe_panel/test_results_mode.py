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
