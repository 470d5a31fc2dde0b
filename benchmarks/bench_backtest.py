"""Whole-process backtests side by side: vibe, backtesting.py and backtrader on the same bars.

Writes the seeded sample market (``vibe_backtest.sample``) for 5 symbols x 504 NYSE sessions of 5m
bars (about 196,000 bars) as Parquet files, then runs each engine as a subprocess over them, so
interpreter start, imports, loading and writing results count the same way for all:

- ``vibe-backtest run --data DIR --no-report --quiet --out TMP``, default config (validation on,
  ``base`` fill model) and again with ``exchange.preset=optimistic`` and validation off;
- backtesting.py (``benchmarks/orb_backtesting_py.py``): the same ORB, one ``Backtest`` per symbol
  (it is single-instrument), all five in one process: bars and wall time are the sums;
- backtrader (``tests/vibe_backtest/orb_backtrader.py``, the parity test's reference): the same
  ORB in one Cerebro over the five feeds.

Then the peak RSS of a 5 x 2,520-session vibe run (about 983,000 bars; target < 500 MB). Peak RSS
comes from ``/usr/bin/time -v`` when present, else from ``resource.getrusage(RUSAGE_CHILDREN)``
(the peak of the largest child so far). The machine may be shared: the load average is printed.

    python benchmarks/bench_backtest.py [--quick] [--sessions 504] [--rss-sessions 2520] [--no-rss]
                                        [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vibe_backtest.api import calendar
from vibe_backtest.data import save_file
from vibe_backtest.sample import sample_market
from vibe_core.config import MVP_SYMBOLS

ROOT = Path(__file__).resolve().parent.parent
BACKTESTING_PY = ROOT / "benchmarks" / "orb_backtesting_py.py"
BACKTRADER = ROOT / "tests" / "vibe_backtest" / "orb_backtrader.py"
END = dt.date(2024, 12, 31)
SEED = 7
RSS_TARGET_MB = 500
TIME_V = Path("/usr/bin/time")
ROW = "{:<38} {:>9} {:>8} {:>9} {:>7} {:>9} {:>9}"


@dataclass
class Run:
    label: str
    bars: int
    wall: float
    rss_mb: float | None
    output: str
    inner: float | None = None


def write_market(out: Path, n_sessions: int) -> int:
    """Sample bars for the MVP symbols over ``n_sessions`` sessions ending by ``END``, as Parquet."""
    market = sample_market(MVP_SYMBOLS, sessions=calendar(), n_sessions=n_sessions, end=END, seed=SEED)
    out.mkdir(parents=True, exist_ok=True)
    for symbol, series in market.items():
        save_file(series, out / f"{symbol}.parquet")
    return sum(len(s) for s in market.values())


def vibe_cli() -> list[str]:
    script = Path(sys.executable).with_name("vibe-backtest")
    if script.exists():
        return [str(script)]
    found = shutil.which("vibe-backtest")
    return [found] if found else [sys.executable, "-m", "vibe_backtest.cli"]


def measure(label: str, cmd: list[str], bars: int, out: Path | None = None, repeat: int = 1) -> Run:
    """Run ``cmd`` to completion; the best wall time of the whole process over ``repeat`` runs,
    and the peak RSS of that run.

    Every engine runs once untimed first, with Python's bytecode cache allowed (as on a user's
    machine; some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every import compile from
    source), so the timed runs measure imports from cache, not compilation (and vibe's session
    table from its day cache).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["TQDM_DISABLE"] = "1"
    subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)  # warm-up
    timed = [str(TIME_V), "-v", *cmd] if TIME_V.exists() else cmd
    wall = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        attempt = subprocess.run(timed, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
        took = time.perf_counter() - t0
        if took < wall or attempt.returncode != 0:
            proc, wall = attempt, took
        if attempt.returncode != 0:
            break
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    rss_mb: float | None = None
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if found:
        rss_mb = int(found.group(1)) / 1024
    else:
        try:
            import resource

            rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
        except ImportError:  # not on Windows
            rss_mb = None
    run = Run(label=label, bars=bars, wall=wall, rss_mb=rss_mb, output=proc.stdout.strip())
    run.inner = _inner_seconds(run, out)
    return run


def _reported_bars(run: Run) -> int | None:
    found = re.findall(r"bars=(\d+)", run.output)
    return int(found[-1]) if found else None


def _inner_seconds(run: Run, out: Path | None) -> float | None:
    """The engine's own timing of its run (vibe: the event loop; others: their script's run)."""
    if out is not None:
        summary = out / "summary.json"
        return float(json.loads(summary.read_text())["wall_seconds"]) if summary.exists() else None
    found = re.findall(r"wall=([0-9.]+)", run.output)
    return float(found[-1]) if found else None


def print_table(runs: list[Run]) -> None:
    base = runs[0].wall
    head = ("engine", "bars", "wall s", "bars/s", "x vibe", "peak RSS", "in-run s")
    print(ROW.format(*head))
    for r in runs:
        rss = f"{r.rss_mb:.0f} MB" if r.rss_mb is not None else "n/a"
        inner = f"{r.inner:.2f}" if r.inner is not None else "n/a"
        cells = (
            r.label,
            f"{r.bars:,}",
            f"{r.wall:.2f}",
            f"{r.bars / r.wall:,.0f}",
            f"{r.wall / base:.2f}",
            rss,
            inner,
        )
        print(ROW.format(*cells))
    print("wall s: the whole process; x vibe: wall time over the first row's (> 1 is slower);")
    print("in-run s: the engine's own timing (vibe: its event loop; backtesting.py: its five runs")
    print("including session flags; backtrader: feeds + Cerebro.run), i.e. without start-up and imports.")


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average: n/a"
    return f"load average: {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke check: 42 sessions, RSS over 126")
    parser.add_argument("--sessions", type=int, default=504)
    parser.add_argument("--rss-sessions", type=int, default=2520)
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per engine; the best counts")
    args = parser.parse_args(argv)
    sessions, rss_sessions = (42, 126) if args.quick else (args.sessions, args.rss_sessions)
    print(load_average())
    with tempfile.TemporaryDirectory(prefix="vibe-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        t0 = time.perf_counter()
        bars = write_market(data, sessions)
        print(
            f"wrote {bars:,} bars ({len(MVP_SYMBOLS)} symbols x {sessions} sessions) as Parquet "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        cli = vibe_cli()
        run = [*cli, "run", "--data", str(data), "--no-report", "--quiet"]
        fast = ["--set", "exchange.preset=optimistic", "--set", "validation.enabled=false"]
        out_default, out_fast = root / "out-default", root / "out-fast"
        py = sys.executable
        n = args.repeat
        runs = [
            measure("vibe (default config)", [*run, "--out", str(out_default)], bars, out_default, n),
            measure(
                "vibe (optimistic, no validation)",
                [*run, *fast, "--out", str(out_fast)],
                bars,
                out_fast,
                n,
            ),
            measure(
                "backtesting.py (per symbol, summed)",
                [py, str(BACKTESTING_PY), "--data", str(data)],
                bars,
                None,
                n,
            ),
            # one timed run: at five times the others' time its noise cannot change the ranking
            measure("backtrader (one Cerebro, 5 feeds)", [py, str(BACKTRADER), "--data", str(data)], bars),
        ]
        print(f"best of {n} timed runs (backtrader: one), after one warm-up run each")
        for r in runs[2:]:
            reported = _reported_bars(r)
            if reported != bars:
                raise SystemExit(f"{r.label} read {reported} bars, expected {bars}:\n{r.output}")
        print_table(runs)
        for r, out in zip(runs, (out_default, out_fast, None, None), strict=True):
            if out is not None:
                summary = json.loads((out / "summary.json").read_text())
                print(f"  {r.label}: trades={summary['n_trades']} final equity={summary['final_equity']:.2f}")
            else:
                print(f"  {r.label}: {r.output.splitlines()[-1]}")
        if not args.no_rss:
            big = root / "big"
            t0 = time.perf_counter()
            big_bars = write_market(big, rss_sessions)
            print(
                f"wrote {big_bars:,} bars ({len(MVP_SYMBOLS)} x {rss_sessions} sessions) "
                f"in {time.perf_counter() - t0:.1f} s"
            )
            r = measure(
                f"vibe {len(MVP_SYMBOLS)} x {rss_sessions} sessions (default config)",
                [*cli, "run", "--data", str(big), "--no-report", "--quiet", "--out", str(root / "out-big")],
                big_bars,
            )
            verdict = "n/a" if r.rss_mb is None else ("met" if r.rss_mb < RSS_TARGET_MB else "MISSED")
            rss = "n/a" if r.rss_mb is None else f"{r.rss_mb:.0f} MB"
            print(
                f"{r.label}: {r.bars:,} bars, {r.wall:.1f} s, {r.bars / r.wall:,.0f} bars/s, "
                f"peak RSS {rss} (target < {RSS_TARGET_MB} MB: {verdict})"
            )
    print(load_average())


if __name__ == "__main__":
    main()
