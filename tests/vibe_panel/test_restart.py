"""The page across a service restart, in headless chromium: the service (a real ``vibe-live run``
process replaying the sample market) is stopped with SIGINT and started again on the same store and
port; the open page reconnects by itself (``since``) and shows the fills made after the restart,
without a reload."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from vibe_panel.server import free_port, start_dashboard


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "vibe_live.cli", "run", "--replay", "sample", "--speed", "3000",
            "--db", str(db), "--set", f"api.port={port}", "--set", "validation.enabled=false"]  # fmt: skip
    service = subprocess.Popen(argv, env={**os.environ, "VIBE__API__API_KEY": "k"}, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert service.poll() is None, "the service exited while starting"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the service did not answer within 60 s")


def _fills(db: Path) -> tuple[int, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
        (n,) = con.execute("SELECT count(*) FROM fills").fetchone()
        row = con.execute("SELECT order_id FROM fills ORDER BY seq DESC, idx DESC LIMIT 1").fetchone()
    return n, row[0] if row else ""


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for service in started:
        if service.poll() is None:
            service.send_signal(signal.SIGINT)
            service.wait(timeout=30)


def test_the_page_reconnects_after_the_service_restarts(
    page: Any, tmp_path: Path, services: list[Any], artifacts
):
    db, port = tmp_path / "live.db", free_port()
    services.append(_start(db, port))
    dashboard = start_dashboard(f"http://127.0.0.1:{port}", live=True)
    try:
        page.goto(dashboard.url)
        expect(page.locator(".vibe-updated")).to_contain_text("updated", timeout=30_000)
        page.evaluate("window.__not_reloaded = true")
        page.locator(".bk-tab", has_text="Health").click()
        stream = page.locator(".vibe-stream")
        expect(stream).to_contain_text("Updates connected", timeout=10_000)
        expect(stream).to_contain_text("connections 1")
        services[0].send_signal(signal.SIGINT)
        assert services[0].wait(timeout=30) == 0
        expect(stream).to_contain_text("reconnecting", timeout=10_000)
        services.append(_start(db, port))
        expect(stream).to_contain_text("connections 2", timeout=15_000)
        expect(stream).to_contain_text("Updates connected")
        page.locator(".bk-tab", has_text="Fills").click()
        before, _ = _fills(db)
        deadline = time.monotonic() + 60
        while (now := _fills(db))[0] <= before:
            assert time.monotonic() < deadline, "no fill after the restart"
            time.sleep(0.05)
        row = page.locator(".vibe-fills .tabulator-row").filter(has_text=now[1])
        expect(row.first).to_be_visible(timeout=2_000)
        assert page.evaluate("window.__not_reloaded") is True
        page.screenshot(path=str(artifacts / "after-restart.png"), full_page=True)
    finally:
        dashboard.stop()
