"""The dashboard's figures (issue 12), in headless chromium over ``vibe-live demo``:

- time to first render: from ``page.goto`` to the first trades row, and to everything drawn (the
  page's "updated" marker: cards, charts, the trades table), over several fresh page loads;
- time from a fill to its row on screen: the fill's commit seen in the store (SQLite, polled every
  5 ms) to its row visible in the Fills tab, over the next fills of a 3000x replay (target < 1 s).

Run ``python benchmarks/bench_panel.py`` (needs chromium: ``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from vibe_panel.server import free_ports

LOADS, FILLS, SPEED = 5, 12, 3000


def _count(db: Path) -> tuple[int, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
        (n,) = con.execute("SELECT count(*) FROM fills").fetchone()
        row = con.execute("SELECT order_id FROM fills ORDER BY seq DESC, idx DESC LIMIT 1").fetchone()
    return n, row[0] if row else ""


def _summary(name: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    median = statistics.median(ms)
    print(f"{name:<38} n={len(ms):>3}  median {median:6.0f} ms  p90 {p90:6.0f} ms  max {ms[-1]:6.0f} ms")


def main() -> None:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("bench_panel: chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        db = Path(tmp) / "demo.db"
        port, api_port = free_ports(2)
        argv = [
            sys.executable, "-m", "vibe_live.cli", "demo", "--speed", str(SPEED), "--port", str(port),
            "--api-port", str(api_port), "--db", str(db), "--set", "validation.enabled=false",
        ]  # fmt: skip
        env = {**os.environ, "VIBE__API__API_KEY": "bench"}
        demo = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert demo.stdout is not None
            started = time.perf_counter()
            for line in demo.stdout:
                if "dashboard at" in line:
                    break
            print(f"vibe-live demo up (service, API, dashboard) in {time.perf_counter() - started:.1f} s")
            url = f"http://127.0.0.1:{port}/"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
                )
                first_row, drawn = [], []
                for _ in range(LOADS):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = context.new_page()
                    t0 = time.perf_counter()
                    page.goto(url)
                    page.locator(".vibe-trades .tabulator-row").first.wait_for(timeout=60_000)
                    first_row.append(time.perf_counter() - t0)
                    page.locator(".vibe-updated", has_text="updated").wait_for(timeout=60_000)
                    drawn.append(time.perf_counter() - t0)
                    context.close()
                _summary("first render: first trades row", first_row)
                _summary("first render: everything drawn", drawn)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.locator(".vibe-updated", has_text="updated").wait_for(timeout=60_000)
                page.locator(".bk-tab", has_text="Fills").click()
                latencies: list[float] = []
                seen, _ = _count(db)
                while len(latencies) < FILLS:
                    n, order_id = _count(db)
                    if n <= seen:
                        time.sleep(0.005)
                        continue
                    t0, seen = time.perf_counter(), n
                    row = page.locator(".vibe-fills .tabulator-row").filter(has_text=order_id).first
                    row.wait_for(state="visible", timeout=10_000)
                    latencies.append(time.perf_counter() - t0)
                    seen, _ = _count(db)  # fills of the same step count once
                _summary("fill committed -> its row on screen", latencies)
                browser.close()
        finally:
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=60)


if __name__ == "__main__":
    main()
