"""``vibe-live demo`` when the replay ends by itself: the session is exported and served as results on
the API's port, so the dashboard keeps answering (now over the finished session); Ctrl-C still stops
it cleanly. And a dashboard whose API is down says so in the page, without console errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from vibe_panel.server import free_port, free_ports, start_dashboard


def test_a_finished_replay_is_served_as_results(tmp_path: Path):
    port, api_port = free_ports(2)
    argv = [sys.executable, "-m", "vibe_live.cli", "demo", "--speed", "20000", "--port", str(port),
            "--api-port", str(api_port), "--db", str(tmp_path / "d.db"),
            "--set", "data.sample_sessions=6"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "VIBE__API__API_KEY"}
    demo = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if "now shows its results" in line:
                break
        else:
            raise AssertionError(f"the demo ended ({demo.wait()}) without serving results: {lines}")
        assert any("controls key: " in line and "from VIBE" not in line for line in lines)  # a generated key
        for _ in range(100):
            try:
                account = httpx.get(f"http://127.0.0.1:{api_port}/api/account", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert account["mode"] == "results" and account["total_trades"] >= 0
        assert httpx.get(f"http://127.0.0.1:{port}/liveness", timeout=5).status_code == 200
    finally:
        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0 and "vibe-live demo: stopped" in out


def test_an_api_that_is_down_is_named_in_the_page(page: Any, artifacts: Path):
    dead = f"http://127.0.0.1:{free_port()}"
    dashboard = start_dashboard(dead, live=True)
    try:
        page.goto(dashboard.url)
        banner = page.locator(".vibe-banner")
        expect(banner).to_contain_text(f"The API at {dead} did not answer", timeout=30_000)
        page.locator(".bk-tab", has_text="Health").click()
        expect(page.locator(".vibe-stream")).to_contain_text("reconnecting")
        page.screenshot(path=str(artifacts / "api-down.png"), full_page=True)
        assert page.console.errors == []
    finally:
        dashboard.stop()
