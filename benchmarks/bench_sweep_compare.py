"""The 48-cell sweep over the 504-session peer data, two source trees interleaved: backtests/min.

Each revision is exported (``git archive``, as ``bench_compare.py`` does; ``WORKTREE`` is this
checkout as it is) and its own ``vibe-backtest sweep`` runs as a whole process with
``PYTHONPATH=<tree>/src``: the grid of ``bench_sweep.py`` (reward_risk x opening_range_minutes x
allow_short x max_trades_per_day = 48 cells) over ``--data`` (default: the peer kit's 504
sessions, generated and cached as ``bench_peers.py`` does). Rounds alternate the trees, for each
worker count, so both see the same machine load. Backtests per minute = cells / the process's wall
time, so imports, loading the market and the local cluster's start-up count (a user waits for
them). The trees' ``sweep.csv`` files are compared: a faster tree must give the same table.

    python benchmarks/bench_sweep_compare.py [--base 1403062] [--head WORKTREE] [--workers 1,2]
                                             [--rounds 3] [--data DIR] [--backend auto|dask|pool]

``--base ''`` times the head alone (the "after" column); ``--head ''`` the base alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_compare import export, resolve
from bench_peers import VIBE_MAIN, Skip, compile_tree, default_work, find_kit, load_text, prepare

ROOT = Path(__file__).resolve().parent.parent
GRID = (  # bench_sweep.GRID
    "strategy.reward_risk=1.5,2.0,2.5,3.0",
    "strategy.opening_range_minutes=5,15,30",
    "strategy.allow_short=false,true",
    "strategy.max_trades_per_day=1,2",
)
CELLS = 4 * 3 * 2 * 2


def sweep_once(tree: Path, data: Path, workers: int, backend: str | None) -> tuple[float, str]:
    """Wall seconds of one ``vibe-backtest sweep`` of ``tree`` and its sweep.csv."""
    with tempfile.TemporaryDirectory(prefix="vibe-bench-sweep-") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-c", VIBE_MAIN, "sweep", "--data", str(data), "--out", str(out)]
        cmd += [x for g in GRID for x in ("--grid", g)] + ["--workers", str(workers)]
        if backend:
            cmd += ["--backend", backend]
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(
                f"{tree}: vibe-backtest sweep failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return wall, (out / "sweep.csv").read_text()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="1403062", help="the 'before' commit ('' for none)")
    ap.add_argument("--head", default="WORKTREE", help="the 'after' commit, or WORKTREE ('' for none)")
    ap.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", choices=("auto", "dask", "pool"), default=None, help="default: the CLI's")
    ap.add_argument("--data", type=Path, default=None, help="default: the peer kit's 504 sessions")
    ap.add_argument("--work", type=Path, default=None, help="peer data cache (see bench_peers.py)")
    ap.add_argument("--kit", default=None, help="the peer kit (default ../shared/bench-peers)")
    ap.add_argument("--json", type=Path, default=None, help="write every raw time here")
    args = ap.parse_args(argv)
    sides = {name: rev for name, rev in (("base", args.base), ("head", args.head)) if rev}
    if not sides or args.rounds < 1:
        ap.error("give --base or --head, and at least one round")
    workers = [int(w) for w in args.workers.split(",")]
    data = args.data
    if data is None:
        try:
            kit = find_kit(args.kit)
        except Skip as skip:
            print(f"{skip} (or give --data DIR)")
            return 0
        work = (args.work or default_work()).resolve()
        work.mkdir(parents=True, exist_ok=True)
        data = prepare(kit, work, 504)
    revs = {name: resolve(rev) for name, rev in sides.items()}
    times: dict[str, dict[int, list[float]]] = {name: {w: [] for w in workers} for name in sides}
    tables: dict[str, str] = {}
    named = ", ".join(f"{k} {v}" for k, v in revs.items())
    print(f"bench_sweep_compare: {CELLS} cells over {data}; {named}; workers {args.workers}; "
          f"{args.rounds} rounds; load average {load_text()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vibe-bench-") as tmp:
        trees = {name: export(rev, Path(tmp) / name) for name, rev in revs.items()}
        for tree in trees.values():
            compile_tree(tree / "src")
        for r in range(args.rounds):
            for w in workers:
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                for name in order:
                    wall, table = sweep_once(trees[name], data, w, args.backend)
                    times[name][w].append(wall)
                    tables.setdefault(name, table)
                    rate = CELLS / wall * 60
                    print(f"  round {r + 1}/{args.rounds} {name} {w} worker(s): {wall:.1f} s = "
                          f"{rate:.1f} backtests/min (load {load_text()})", flush=True)  # fmt: skip
    print(f"\n{CELLS}-cell sweep, whole process, median of {args.rounds} rounds; load average {load_text()}:")
    print(f"{'tree':<22} {'workers':>7} {'median s':>9} {'backtests/min':>14} {'range':>16}")
    for name, rev in revs.items():
        for w in workers:
            ts = times[name][w]
            rates = sorted(CELLS / t * 60 for t in ts)
            print(f"{name + ' ' + rev:<22} {w:>7} {statistics.median(ts):>9.1f} "
                  f"{statistics.median(rates):>14.1f} {rates[0]:>7.1f}..{rates[-1]:.1f}")  # fmt: skip
    if len(revs) == 2:
        for w in workers:
            ratios = [b / h for b, h in zip(times["base"][w], times["head"][w], strict=True)]
            print(f"head/base speed, {w} worker(s): {statistics.median(ratios):.2f}x (paired rounds)")
        same = tables["base"] == tables["head"]
        print(f"sweep.csv of both trees: {'identical' if same else 'DIFFERENT (results changed)'}")
    if args.json:
        args.json.write_text(
            json.dumps({"cells": CELLS, "data": str(data), "revs": revs, "times_s": times}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
