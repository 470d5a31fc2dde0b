"""``vibe-live serve-results DIR`` over a real ``vibe-backtest run --out DIR`` folder, as a child
process on a free port: the read routes show the folder's trades, orders, fills, signals, equity
and bars; a folder that is not a backtest's is refused (exit 2, naming it); Ctrl-C stops it."""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.vibe_live.live_files import env, live

from vibe_live.api.shapes import utc


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "out"
    run = subprocess.run(
        [sys.executable, "-m", "vibe_backtest.cli", "run", "--quiet", "--symbols", "AAPL,MSFT", "--no-report",
         "--set", "validation.enabled=false", "--out", str(out)],
        env=env(), capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _ns(text: str) -> int:
    import pandas as pd

    return int(pd.Timestamp(text).tz_convert("UTC").value)


def test_serve_results_shows_a_backtest_folder(results: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibe_live.cli", "serve-results", str(results), "--port", "0"],
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        with httpx.Client(base_url=match.group(0), timeout=10) as client:
            trades = client.get("/api/trades", params={"limit": 1000}).json()["trades"]
            stored = _rows(results / "trades.csv")
            assert len(trades) == len(stored) > 0
            order = sorted(range(len(stored)), key=lambda i: (_ns(stored[i]["exit_time"]), i), reverse=True)
            newest_first = [stored[i] for i in order]  # a tie: the later row first
            assert [(t["symbol"], t["exit_time"], t["pnl"]) for t in trades] == [
                (r["symbol"], utc(_ns(r["exit_time"])), float(r["pnl"])) for r in newest_first
            ]
            summary = json.loads((results / "summary.json").read_text())
            account = client.get("/api/account").json()
            assert account["mode"] == "results" and account["equity"] == pytest.approx(
                summary["final_equity"]
            )
            assert account["total_trades"] == summary["n_trades"]
            perf = client.get("/api/metrics/performance", params={"period": "all"}).json()
            assert perf["trades"] == summary["n_trades"]
            assert perf["win_rate"] == pytest.approx(summary["win_rate"])
            assert perf["max_drawdown_pct"] == pytest.approx(summary["max_drawdown"] * 100)
            fills = client.get("/api/fills", params={"limit": 1000}).json()["fills"]
            assert len(fills) == len(_rows(results / "fills.csv"))
            orders = client.get("/api/orders", params={"limit": 1000}).json()["orders"]
            assert {o["id"] for o in orders} == {r["id"] for r in _rows(results / "orders.csv")}
            signals = client.get("/api/signals", params={"limit": 1000}).json()["signals"]
            assert len(signals) == len(_rows(results / "signals.csv"))
            equity = client.get("/api/equity").json()["equity"]
            assert len(equity) == len(_rows(results / "equity.csv"))
            bars = client.get("/api/bars/MSFT", params={"limit": 5}).json()
            csv_bars = [r for r in _rows(results / "bars.csv") if r["symbol"] == "MSFT"][-5:]
            assert [(b["time"], b["close"]) for b in bars["bars"]] == [
                (utc(_ns(r["time"])), float(r["close"])) for r in csv_bars
            ]
            assert bars["opening_range"] is not None
            traded = trades[0]["symbol"]
            marked = client.get(f"/api/bars/{traded}", params={"limit": 5000}).json()["markers"]
            assert {"entry", "exit"} <= {m["kind"] for m in marked}
            assert client.get("/api/bars/ZZZZ").status_code == 404
            assert client.post("/admin/pause").status_code in (404, 405)  # no controls over files
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0


def test_serve_results_refuses_a_folder_that_is_not_a_backtests(tmp_path: Path) -> None:
    (tmp_path / "trades.csv").write_text("symbol\n")
    run = subprocess.run(
        [sys.executable, "-m", "vibe_live.cli", "serve-results", str(tmp_path), "--port", "0"],
        env=env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert str(tmp_path) in run.stderr and "summary.json" in run.stderr


def test_vibe_live_run_serves_the_api_unless_the_flag_is_off(tmp_path: Path) -> None:
    short = ["--replay", "sample", "--clock", "feed", "--log-format", "json",
             "--set", "data.sample_sessions=1", "--set", "features.enable_mtf_validation=false"]  # fmt: skip
    on = live("run", *short, "--db", "on.db", cwd=tmp_path)
    assert on.returncode == 0, on.stderr[-2000:]
    events = [json.loads(line) for line in on.stderr.splitlines()]
    (listening,) = [e for e in events if e["event"] == "api listening"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", listening["url"])
    assert [e["event"] for e in events].index("api listening") < [e["event"] for e in events].index("order")
    off = live("run", *short, "--db", "off.db", "--set", "features.enable_dashboard_api=false", cwd=tmp_path)
    assert off.returncode == 0, off.stderr[-2000:]
    assert "api listening" not in off.stderr
