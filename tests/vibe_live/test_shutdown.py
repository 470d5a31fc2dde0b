"""Graceful shutdown on real processes and signals: SIGTERM mid-session of a wall-clock replay exits 0
within 10 s, with the working orders cancelled and the positions' flatten orders in the log (a
logged CloseAll), a sound file, and a restart that carries on from there."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.vibe_live.live_files import env, live

from vibe_live.store import Store

SHORT = ["--set", "data.sample_sessions=3", "--set", "features.enable_mtf_validation=false"]


def start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vibe_live.cli", "run", "--replay", "sample", *SHORT, "--db", "s.db", *extra],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(child: subprocess.Popen[str], needle: str, timeout: float = 60) -> list[str]:
    """Stderr lines up to the first holding ``needle``."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert child.stderr is not None
    while time.monotonic() < deadline:
        line = child.stderr.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"no {needle!r} in:\n{''.join(lines[-30:])}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_session_shuts_down_cleanly_and_a_restart_carries_on(tmp_path, signum):
    child = start(tmp_path, "--speed", "300", "--log-format", "json")
    wait_for(child, '"tag": "entry"')  # an entry filled: its stop and target are working
    sent = time.monotonic()
    child.send_signal(signum)
    out = child.communicate(timeout=10)[1]
    took = time.monotonic() - sent
    assert child.returncode == 0, out[-2000:]
    assert took < 10
    events = [json.loads(line)["event"] for line in out.splitlines() if line.startswith("{")]
    assert "shutdown" in events and "order cancelled" in events and "stopped" in events
    with Store(tmp_path / "s.db", readonly=True) as store:
        assert store.integrity_check() == "ok"
        log = store.rows("events")
        cancels = [r for r in store.rows("order_events") if r["kind"] == "cancelled"]
        stopped_at = log[-1]["seq"]
    assert log[-1]["kind"] == "CloseAll"
    assert any(r["seq"] == stopped_at and r["reason"] == "close_all" for r in cancels)

    done = live("run", "--replay", "sample", *SHORT, "--db", "s.db", "--clock", "feed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resume=seq {stopped_at}" in done.stderr
    with Store(tmp_path / "s.db", readonly=True) as store:
        after = store.rows("events")
        assert store.integrity_check() == "ok"
    assert after[: len(log)] == log and len(after) > len(log)
    assert after[-1]["kind"] == "Clock"  # the replay ran on to its last session's close


def test_a_second_signal_exits_at_once_and_the_next_start_recovers(tmp_path):
    child = start(tmp_path, "--speed", "300")
    wait_for(child, "session open")
    child.send_signal(signal.SIGTERM)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=10)
    assert child.returncode in (0, 130)
    done = live("run", "--replay", "sample", *SHORT, "--db", "s.db", "--clock", "feed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    with Store(tmp_path / "s.db", readonly=True) as store:
        assert store.integrity_check() == "ok"
