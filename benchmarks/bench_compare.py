"""The engine benchmark of two commits side by side: per-config medians and the ratio head/base.

Each revision is exported (``git archive``) into a temporary folder, and its own
``benchmarks/bench_engine.py`` runs in a subprocess with ``PYTHONPATH=<export>/src``. Rounds
alternate base and head, so both see the same machine load; each run prints one ``bars/s`` line
per config, and the medians over the rounds are compared. ``--check`` exits 1 when a ratio falls
below ``--min-ratio`` (the issue's floor: 0.85).

    python benchmarks/bench_compare.py [--base 0799dbe] [--head HEAD] [--rounds 5] [--sessions 252]
                                       [--check] [--min-ratio 0.85]

``--head WORKTREE`` benchmarks the working tree as it is, uncommitted changes included.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKTREE = "WORKTREE"
LINE = re.compile(r"^(?P<label>.+?)\s+[\d,]+ bars\s+[\d.]+ s\s+(?P<rate>[\d,]+) bars/s\s*$")


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (a commit, or ``WORKTREE`` for the files as they are) under ``into``."""
    if rev == WORKTREE:
        return ROOT
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def run_once(tree: Path, sessions: int) -> dict[str, float]:
    """One run of ``tree``'s engine benchmark: bars/s by config label."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    cmd = [sys.executable, str(tree / "benchmarks" / "bench_engine.py"), "--sessions", str(sessions)]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: bench_engine.py failed ({done.returncode}):\n{done.stderr}")
    rates = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        if match:
            rates[match["label"].strip()] = float(match["rate"].replace(",", ""))
    if not rates:
        raise SystemExit(f"{tree}: no 'bars/s' line in the benchmark's output:\n{done.stdout}")
    return rates


def resolve(rev: str) -> str:
    if rev == WORKTREE:
        return rev
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"unknown revision {rev!r}: {out.stderr.strip()}")
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="0799dbe", help="the reference commit (default 0799dbe)")
    parser.add_argument("--head", default="HEAD", help=f"the commit to compare (or {WORKTREE})")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each revision, alternating")
    parser.add_argument("--sessions", type=int, default=252, help="passed to bench_engine.py")
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio is below --min-ratio")
    parser.add_argument("--min-ratio", type=float, default=0.85)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    base, head = resolve(args.base), resolve(args.head)
    with tempfile.TemporaryDirectory(prefix="vibe-bench-") as tmp:
        trees = {"base": export(base, Path(tmp) / "base"), "head": export(head, Path(tmp) / "head")}
        runs: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
        for r in range(args.rounds):
            order = ("base", "head") if r % 2 == 0 else ("head", "base")  # (neither always goes first)
            for side in order:
                runs[side].append(run_once(trees[side], args.sessions))
                rates = ", ".join(f"{v:,.0f}" for v in runs[side][-1].values())
                print(f"round {r + 1}/{args.rounds} {side}: {rates} bars/s", flush=True)
    labels = [label for label in runs["base"][0] if label in runs["head"][0]]
    print(f"\nengine bars/s, median of {args.rounds} alternating rounds: base {base}, head {head}")
    print(f"{'config':<42} {'base':>10} {'head':>10} {'head/base':>10}")
    worst = float("inf")
    for label in labels:
        b = statistics.median(run[label] for run in runs["base"])
        h = statistics.median(run[label] for run in runs["head"])
        worst = min(worst, h / b)
        print(f"{label:<42} {b:>10,.0f} {h:>10,.0f} {h / b:>10.3f}")
    if args.check and worst < args.min_ratio:
        print(f"FAIL: a ratio is below {args.min_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
