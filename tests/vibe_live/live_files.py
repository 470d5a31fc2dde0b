"""Helpers for the service's process tests: run ``vibe-live`` / ``vibe-backtest`` and export a store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import vibe_live

SRC = str(Path(vibe_live.__file__).resolve().parents[1])
COMPARED = ("trades.csv", "orders.csv", "fills.csv", "gaps.csv")


def env(**extra: str) -> dict[str, str]:
    """The environment of a child process: our sources first, no VIBE__ variables from outside, the
    API on a free port."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__") and k != "VIBE_LIVE_KILL_AT"}
    out["PYTHONPATH"] = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out["VIBE__API__PORT"] = "0"  # the monitoring API on a free port: tests never fight over 8080
    out.update(extra)
    return out


def live(*args: str, cwd: Path, timeout: float = 240, **extra: str) -> subprocess.CompletedProcess[str]:
    """``vibe-live ARGS`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "vibe_live.cli", *args],
        cwd=cwd,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def export(db: Path, out: Path) -> Path:
    """``vibe-live export`` of the store at ``db`` into ``out``."""
    done = live("export", "--db", str(db), "--out", str(out), cwd=db.parent)
    assert done.returncode == 0, done.stderr
    return out


def sample_backtest(cwd: Path) -> Path:
    """``vibe-backtest run`` of the built-in sample market into ``cwd/bt`` (no report); checks that
    it trades, so a comparison with it is not vacuous."""
    done = subprocess.run(
        [sys.executable, "-m", "vibe_backtest.cli", "run", "--out", "bt", "--no-report", "--quiet"],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len((cwd / "bt" / "trades.csv").read_text().splitlines()) > 20  # the sample trades
    return cwd / "bt"
