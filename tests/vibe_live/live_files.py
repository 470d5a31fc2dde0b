"""Helpers for the service's process tests: run ``vibe-live`` / ``vibe-backtest`` and export a store.

``export`` writes the backtester's ``trades.csv``, ``orders.csv`` and ``fills.csv`` from a store's
read tables (their actions, in log order, through the backtester's own recorder and writer). It
stands in for ``vibe-live export`` until that lands: switch :data:`USE_CLI_EXPORT` to True then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import vibe_live

USE_CLI_EXPORT = True  #: True once ``vibe-live export`` exists: the tests then use the real command
SRC = str(Path(vibe_live.__file__).resolve().parents[1])
COMPARED = ("trades.csv", "orders.csv", "fills.csv", "gaps.csv")


def env(**extra: str) -> dict[str, str]:
    """The environment of a child process: our sources first, no VIBE__ variables from outside."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__") and k != "VIBE_LIVE_KILL_AT"}
    out["PYTHONPATH"] = os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
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
    """The backtester's files for the store at ``db`` (see the module docstring)."""
    if USE_CLI_EXPORT:
        done = live("export", "--db", str(db), "--out", str(out), cwd=db.parent)
        assert done.returncode == 0, done.stderr
        return out
    from vibe_backtest.loop import LoopResult, Recorder
    from vibe_backtest.results import BacktestResult
    from vibe_core.actions import Action
    from vibe_core.codec import structure
    from vibe_core.config import config_from_dict
    from vibe_live.store import Store

    with Store(db, readonly=True) as store:
        rows = [
            (r["seq"], r["idx"], r["action"])
            for table in ("order_events", "fills", "trades", "signals", "halts")
            for r in store.rows(table)
        ]
        equity = store.rows("equity")
        sessions = store.rows("sessions")
        config = config_from_dict(json.loads(store.get_meta("config") or "{}"))
    recorder = Recorder()
    recorder.record(structure(json.loads(a), Action) for _, _, a in sorted(rows))
    loop = LoopResult(
        state=None,  # type: ignore[arg-type]
        recorder=recorder,
        equity_ts=[r["time"] for r in equity],
        equity_cash=[r["cash"] for r in equity],
        equity_value=[r["equity"] for r in equity],
        exposed=[bool(r["exposed"]) for r in equity],
        daily_ts=[r["close"] for r in sessions],
        daily_equity=[r["end_equity"] for r in sessions],
        bars_processed=0,
        wall_seconds=0.0,
    )
    out.mkdir(parents=True, exist_ok=True)
    BacktestResult.from_loop(loop, config).write_files(out, report=False)
    return out
