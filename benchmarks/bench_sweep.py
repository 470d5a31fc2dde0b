"""Sweep throughput on Dask distributed and the process pool, and Dask's overhead per task.

A 48-cell grid (reward_risk x opening_range_minutes x allow_short x max_trades_per_day) over the
504-session benchmark data, 5 symbols of 5m bars: the peer kit's generator
(``shared/bench-peers/gen_data.py --days 504``, found beside the repository or under
``$BENCH_PEERS_KIT``), else the seeded sample market of ``bench_backtest.py`` (504 NYSE sessions).
The market is loaded once, here, and shipped once to each worker, as ``vibe-backtest sweep`` does.

Printed: backtests per minute on a LocalCluster of 1 and 2 workers and on a 2-process pool
(start-up, the cluster's or the pool's processes, timed apart), and the scheduler's overhead per
task: the wall time per task of many no-op tasks through the same path (submit, as_completed,
result) on one worker.
The machine may be shared: the load average is printed beside the figures.

    python benchmarks/bench_sweep.py [--quick] [--sessions 504] [--noop 400] [--data DIR]

``--data DIR`` sweeps that folder's bars instead (e.g. bench_peers.py's cached 504-session folder).
``bench_sweep_compare.py`` times the same grid through ``vibe-backtest sweep`` for two commits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vibe_backtest.api import calendar, load_market
from vibe_backtest.backends import open_backend
from vibe_backtest.sample import sample_market
from vibe_backtest.sweep import combinations, config_for, run_cells
from vibe_core.config import MVP_SYMBOLS, Config, config_to_dict

ROOT = Path(__file__).resolve().parent.parent
GRID: dict[str, list[Any]] = {
    "strategy.reward_risk": [1.5, 2.0, 2.5, 3.0],
    "strategy.opening_range_minutes": [5, 15, 30],
    "strategy.allow_short": [False, True],
    "strategy.max_trades_per_day": [1, 2],
}
QUICK_GRID: dict[str, list[Any]] = {
    "strategy.reward_risk": [1.5, 2.0, 2.5, 3.0],
    "strategy.allow_short": [False, True],
}


def _kit() -> Path | None:
    for folder in (
        os.environ.get("BENCH_PEERS_KIT"),
        ROOT.parent / "shared" / "bench-peers",
        "/work/shared/bench-peers",
    ):
        if folder and (Path(folder) / "gen_data.py").exists():
            return Path(folder)
    return None


def market(sessions: int, tmp: Path) -> tuple[dict[str, Any], str]:
    kit = _kit()
    if kit is not None:
        env = {**os.environ, "BENCH_PEERS_DIR": str(tmp)}
        subprocess.run(
            [sys.executable, str(kit / "gen_data.py"), "--days", str(sessions), "--no-csv"],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return load_market(tmp / "data" / f"{sessions}d"), f"gen_data.py --days {sessions}"
    data = sample_market(
        MVP_SYMBOLS, sessions=calendar(), n_sessions=sessions, end=dt.date(2024, 12, 31), seed=7
    )
    return data, f"sample market, {sessions} sessions"


def noop(market: Any, item: int) -> int:
    return item


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def timed_sweep(
    data: dict[str, Any], configs: list[dict[str, Any]], backend: str, workers: int
) -> dict[str, Any]:
    started = time.perf_counter()
    with open_backend(data, backend=backend, workers=workers, tasks=len(configs)) as b:  # type: ignore[arg-type]
        list(b.map_unordered(noop, [0] * 4 * workers, desc="warm"))  # the pool starts its processes lazily
        ready = time.perf_counter()
        outcomes = run_cells(b, configs)
        done = time.perf_counter()
    failed = sum(not isinstance(o, dict) for o in outcomes)
    assert not failed, f"{failed} runs failed"
    run = done - ready
    return {
        "backend": backend,
        "workers": workers,
        "startup_s": round(ready - started, 2),
        "sweep_s": round(run, 2),
        "backtests_per_min": round(len(configs) / run * 60, 1),
        "load": _load(),
    }


def overhead(data: dict[str, Any], n: int, backend: str) -> float:
    """Seconds per no-op task on one worker (submit, schedule, run, result back)."""
    with open_backend(data, backend=backend, workers=1, tasks=n) as b:  # type: ignore[arg-type]
        list(b.map_unordered(noop, [0] * 20, desc="warm"))
        started = time.perf_counter()
        for _ in b.map_unordered(noop, list(range(n)), desc="noop"):
            pass
        return (time.perf_counter() - started) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 cells over 60 sessions")
    ap.add_argument("--sessions", type=int, default=504)
    ap.add_argument("--noop", type=int, default=400, help="no-op tasks for the overhead figure")
    ap.add_argument("--data", type=Path, default=None, help="a folder of bars to sweep (one file a symbol)")
    args = ap.parse_args()
    grid = QUICK_GRID if args.quick else GRID
    sessions = 60 if args.quick else args.sessions
    configs = [config_to_dict(config_for(Config(), c)) for c in combinations(grid)]
    if args.data is not None:
        data, what = load_market(args.data), str(args.data)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data, what = market(sessions, Path(tmp))
    bars = sum(len(s) for s in data.values())
    print(f"bench_sweep: {len(configs)} cells x {what} ({bars:,} bars); load average {_load()}")
    rows = [
        timed_sweep(data, configs, "dask", 1),
        timed_sweep(data, configs, "dask", 2),
        timed_sweep(data, configs, "pool", 2),
    ]
    for r in rows:
        print(
            f"  {r['backend']:<5} {r['workers']} worker(s): {r['backtests_per_min']:7.1f} backtests/min "
            f"(sweep {r['sweep_s']:.1f} s, start-up {r['startup_s']:.1f} s, load {r['load']})"
        )
    per_task = {b: overhead(data, args.noop, b) for b in ("dask", "pool")}
    per_backtest = 60 / rows[0]["backtests_per_min"]
    print(
        f"  overhead per task (no-op, 1 worker): dask {per_task['dask'] * 1000:.2f} ms, "
        f"pool {per_task['pool'] * 1000:.2f} ms; one backtest here takes {per_backtest:.2f} s, "
        f"so Dask's share is {per_task['dask'] / per_backtest:.2%}"
    )
    print(json.dumps({"cells": len(configs), "bars": bars, "data": what, "runs": rows,
                      "overhead_ms": {k: round(v * 1000, 3) for k, v in per_task.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
