"""Vibe side by side with its peers, as whole processes, interleaved: the issue-14 targets.

Runs the peers' own scripts from the peer kit (``../shared/bench-peers/``: ``bench_ref.py``, a
plain Python loop over arrays; ``bench_backtesting_py.py``; ``bench_backtrader.py``; never copies)
and ``vibe-backtest run`` on the same generated bars (``gen_data.py``: 5 symbols of 5m bars), in
rounds ``A B C D ... A B C D ...``, so every engine sees the same minutes of a shared machine:

- ``vibe``: ``vibe-backtest run --data DIR --out TMP --quiet`` (default config, with its report);
- ``vibe-orb``: the same with ``--no-report --set exchange.preset=optimistic --set
  validation.enabled=false`` (ORB only);
- ``backtesting``, ``ref``, ``backtrader``: the kit's scripts with ``--repeats 1`` (backtrader
  with ``--feed fast`` unless ``--backtrader-feed pandas``: each peer at its fastest);
- ``loop``: vibe's loop alone, timed inside a process of its own (this script with
  ``--loop-child``): the market loaded with ``vibe_backtest.api.load_market``, then
  ``vibe_backtest.loop.run_market`` when the tree has it, else ``run_loop(iter_bars(...))``, for
  the default config and the ORB-only one.

Per size and engine: the median and the minimum wall time, the peak RSS (``ru_maxrss`` of the
process, from ``os.wait4``: the figure ``/usr/bin/time -v`` prints), the loop alone in bars/s (the
peers print their in-process time in a JSON line) and the trade count. Then the paired ratios (each
round's ratio, then their median) against the issue's targets, PASS or MISS, and the load average.
The peers' trade counts must agree (they run identical rules on identical bars), else the run is
reported broken and the exit status is 1.

The generated data is cached (``--work``, default ``$XDG_CACHE_HOME/vibe-bench-peers``); vibe
reads a folder of symlinks to the Parquet files (it refuses two files for one symbol).

    python benchmarks/bench_peers.py [--sizes 504,2520] [--rounds 5] [--engines vibe,ref,...]
                                     [--quick] [--work DIR] [--kit DIR] [--json PATH]
                                     [--src DIR | --rev REV] [--base REV] [--backtrader-feed pandas]

``--rev REV`` times that commit's vibe (``git archive``) instead of this checkout's ``src``;
``--base REV`` adds that commit's vibe to the same rounds (engines ``vibe@base``, ``vibe-orb@base``,
``loop@base``) and prints the paired base/head ratios: before and after under the same load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL")  # what gen_data.py writes
ORB_ONLY = ("exchange.preset=optimistic", "validation.enabled=false")
#: what the ``vibe-backtest`` command runs (``cli.entry``: main, then exit without the teardown),
#: or ``main`` for a tree older than it; from ``-c`` so that PYTHONPATH picks the tree
VIBE_MAIN = (
    "import sys; from vibe_backtest import cli; sys.argv[0] = 'vibe-backtest'; "
    "cli.entry() if hasattr(cli, 'entry') else sys.exit(cli.main())"
)
ENGINES = ("vibe", "vibe-orb", "backtesting", "ref", "backtrader", "loop")
VIBE_ENGINES = ("vibe", "vibe-orb", "loop")
LABELS = {
    "vibe": "vibe run, default + report",
    "vibe-orb": "vibe run, ORB-only, no report",
    "backtesting": "backtesting.py",
    "ref": "plain loop (bench_ref.py)",
    "backtrader": "backtrader",
    "loop": "vibe loop alone (in-process)",
}
SHORT = {"backtesting": "backtesting.py", "ref": "bench_ref.py", "backtrader": "backtrader"}
PEERS = {  # engine: (script in the kit, the package it needs)
    "backtesting": ("bench_backtesting_py.py", "backtesting"),
    "ref": ("bench_ref.py", None),
    "backtrader": ("bench_backtrader.py", "backtrader"),
}
TARGET_SPEEDUP = 2.0  # backtesting.py time / vibe default time
TARGET_ORB_RATIO = 1.5  # vibe ORB-only time / plain loop time
TARGET_LOOP = 1_000_000  # bars/s, vibe's loop alone, ORB-only
TARGET_RSS_MB = 300  # vibe at 2,520 sessions
RSS_SIZE = 2520


class Skip(Exception):
    """The benchmark cannot run here (no peer kit): a message, exit status 0."""


@dataclass
class Run:
    """One process of one engine in one round."""

    engine: str
    round: int
    wall_s: float
    rss_mb: float
    load1: float
    inner: dict[str, Any] = field(default_factory=dict)  # the peer's JSON line, or the loop child's


# ---------------------------------------------------------------------------------------------
# Data


def find_kit(option: str | None) -> Path:
    """The peer kit: ``option``, else ``$BENCH_PEERS_KIT``, else ``../shared/bench-peers``."""
    folder = Path(option or os.environ.get("BENCH_PEERS_KIT") or ROOT.parent / "shared" / "bench-peers")
    missing = [
        f for f in ("gen_data.py", "common.py", *(s for s, _ in PEERS.values())) if not (folder / f).exists()
    ]
    if missing:
        raise Skip(
            f"bench_peers: skipped: the peer kit is not at {folder} (no {', '.join(missing)}); "
            "give --kit DIR or $BENCH_PEERS_KIT"
        )
    return folder


def default_work() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "vibe-bench-peers"


def _ns_timestamps(path: Path) -> bool:
    """Rewrite ``path``'s timestamp column as ``timestamp[ns, tz=UTC]``; True if it was not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    want = pa.timestamp("ns", tz="UTC")
    if pq.read_schema(path).field("timestamp").type == want:
        return False
    # pandas 3 writes gen_data.py's timestamps as microseconds and reads them back as
    # datetime64[us]; the peers take ``df.index.asi8`` as nanoseconds, so their day arithmetic
    # breaks (bench_ref.py found 6 trades instead of 1,955 at 504 days and ran absurdly fast).
    # Stored as ns, pandas reads ns again; the peers stay untouched.
    table = pq.read_table(path)
    k = table.schema.get_field_index("timestamp")
    table = table.set_column(k, pa.field("timestamp", want), table.column(k).cast(want))
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return True


def prepare(kit: Path, work: Path, days: int) -> Path:
    """The kit's data for ``days`` sessions under ``work`` (generated once); vibe's folder."""
    data = work / "data" / f"{days}d"
    if not all((data / f"{s}.parquet").exists() for s in SYMBOLS):
        started = time.perf_counter()
        env = {**os.environ, "BENCH_PEERS_DIR": str(work)}
        cmd = [sys.executable, str(kit / "gen_data.py"), "--days", str(days), "--no-csv"]
        subprocess.run(cmd, check=True, env=env, cwd=work, stdout=subprocess.DEVNULL)
        print(f"  generated {days} sessions in {data} ({time.perf_counter() - started:.1f} s)")
    fixed = [s for s in SYMBOLS if _ns_timestamps(data / f"{s}.parquet")]
    if fixed:
        print(f"  {days}d: timestamps rewritten as ns for {', '.join(fixed)}")
    vibe = work / "vibe" / f"{days}d"
    vibe.mkdir(parents=True, exist_ok=True)
    for s in SYMBOLS:
        link = vibe / f"{s}.parquet"
        if not link.is_symlink():
            link.symlink_to(data / f"{s}.parquet")
    return vibe


# ---------------------------------------------------------------------------------------------
# Processes


def run_process(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one process; its stderr in the error if it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"bench_peers: {' '.join(cmd)} failed ({code}):\n{err.read()[-3000:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            found: dict[str, Any] = json.loads(line)
            return found
    raise SystemExit(f"bench_peers: no JSON line in:\n{text[-2000:]}")


@dataclass
class Bench:
    kit: Path
    work: Path
    src: Path
    backtrader_feed: str
    base_src: Path | None = None  # the ``@base`` engines' vibe (``--base REV``)

    def env(self, vibe: bool, base: bool = False) -> dict[str, str]:
        env = {**os.environ, "BENCH_PEERS_DIR": str(self.work)}
        if vibe:
            env["PYTHONPATH"] = str(self.base_src if base and self.base_src else self.src)
        return env

    def run(self, engine: str, days: int, folder: Path, rnd: int) -> Run:
        load1 = os.getloadavg()[0]
        run = self._run(*split(engine), days, folder)
        return Run(engine, rnd, run[0], run[1], load1, run[2])

    def _run(self, engine: str, base: bool, days: int, folder: Path) -> tuple[float, float, dict[str, Any]]:
        if engine in PEERS:
            cmd = [sys.executable, str(self.kit / PEERS[engine][0]), "--days", str(days), "--repeats", "1"]
            if engine == "backtrader" and self.backtrader_feed == "fast":
                cmd += ["--feed", "fast"]
            wall, rss, out = run_process(cmd, self.env(False), self.work)
            return wall, rss, json_line(out)
        if engine == "loop":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--loop-child", str(folder)]
            wall, rss, out = run_process(cmd, self.env(True, base), self.work)
            return wall, rss, json_line(out)
        with tempfile.TemporaryDirectory(prefix="vibe-bench-peers-") as tmp:
            out_dir = Path(tmp) / "out"
            cmd = [
                sys.executable,
                "-c",
                VIBE_MAIN,
                "run",
                "--data",
                str(folder),
                "--out",
                str(out_dir),
                "--quiet",
            ]
            if engine == "vibe-orb":
                cmd += ["--no-report"] + [x for s in ORB_ONLY for x in ("--set", s)]
            wall, rss, _ = run_process(cmd, self.env(True, base), self.work)
            saved = out_dir / "summary.json"
            summary = json.loads(saved.read_text()) if saved.exists() else {}
            inner = {k: summary.get(k) for k in ("n_trades", "bars_processed", "wall_seconds")}
            return wall, rss, {"trades": inner["n_trades"], **inner}


def loop_child(folder: str) -> None:
    """Print vibe's loop alone in bars/s, default config and ORB-only, as one JSON line."""
    import attrs

    from vibe_backtest import api, data, loop
    from vibe_backtest.settings import load_settings

    market = api.load_market(folder)
    sessions = api.calendar()
    bars = sum(len(s) for s in market.values())
    out: dict[str, Any] = {"bars": bars, "run_market": hasattr(loop, "run_market")}
    for name, sets in (("default", ()), ("orb", ORB_ONLY)):
        config = attrs.evolve(load_settings(None, sets), symbols=tuple(market))  # as run_backtest does
        started = time.perf_counter()
        if hasattr(loop, "run_market"):
            loop.run_market(market, config, sessions)
        else:
            loop.run_loop(data.iter_bars(market), config, sessions)
        seconds = time.perf_counter() - started
        out[f"{name}_s"] = round(seconds, 4)
        out[f"{name}_bars_per_s"] = round(bars / seconds)
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# Figures


def split(engine: str) -> tuple[str, bool]:
    """``vibe-orb@base`` -> ``("vibe-orb", True)``: the engine and whether it runs the base tree."""
    name, _, side = engine.partition("@")
    return name, side == "base"


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peer_rate(run: Run) -> float:
    """A peer's in-process bars/s (its own timing, printed in its JSON line)."""
    return float(run.inner["bars"]) / float(run.inner["median_s"])


def wall(run: Run) -> float:
    return run.wall_s


def paired(
    runs: dict[str, list[Run]],
    a: str,
    b: str,
    num: Callable[[Run], float] = wall,
    den: Callable[[Run], float] = wall,
) -> list[float]:
    """Per-round ratios num(a's run) / den(b's run) over the rounds both engines ran."""
    by_round = {r.round: r for r in runs.get(b, [])}
    return [num(r) / den(by_round[r.round]) for r in runs.get(a, []) if r.round in by_round]


def summarize(days: int, runs: dict[str, list[Run]]) -> tuple[list[str], dict[str, Any], bool]:
    """The printed lines, the figures for the JSON, and whether the peers agree on their trades."""
    lines: list[str] = []
    loops = runs.get("loop", [])
    row = "{:<36} {:>9} {:>8} {:>9} {:>13} {:>8}"
    lines.append(row.format("engine", "median s", "min s", "RSS MB", "loop bars/s", "trades"))
    figures: dict[str, Any] = {"engines": {}}
    for engine, got in runs.items():
        name, base = split(engine)
        if not got or name == "loop":
            continue
        walls = [r.wall_s for r in got]
        rates: list[float] = []
        if name in PEERS:
            rates = [peer_rate(r) for r in got]
        elif runs.get("loop@base" if base else "loop"):
            key = "default_bars_per_s" if name == "vibe" else "orb_bars_per_s"
            rates = [float(r.inner[key]) for r in runs["loop@base" if base else "loop"]]
        trades = got[0].inner.get("trades")
        fast = str(got[0].inner.get("engine", "")).endswith("fastfeed")
        label = ("base: " if base else "") + LABELS[name] + (" (fast feed)" if fast else "")
        rss = max(r.rss_mb for r in got)
        lines.append(
            row.format(
                label[:36], f"{med(walls):.2f}", f"{min(walls):.2f}", f"{rss:.0f}",
                f"{med(rates):,.0f}" if rates else "-", "-" if trades is None else str(trades),
            )
        )  # fmt: skip
        figures["engines"][engine] = {
            "median_s": round(med(walls), 3), "min_s": round(min(walls), 3), "peak_rss_mb": round(rss),
            "loop_bars_per_s": round(med(rates)) if rates else None, "trades": trades,
        }  # fmt: skip
    if loops:
        how = "run_market" if loops[0].inner.get("run_market") else "run_loop(iter_bars(...))"
        rss = max(r.rss_mb for r in loops)
        lines.append(f"  (vibe's loop bars/s: {how} in a process of its own, {rss:.0f} MB)")
    lines.append("paired ratios (each round's ratio, then the median; [min..max] over rounds):")
    checks: list[tuple[str, list[float], str, Callable[[float], bool] | None]] = [
        ("backtesting.py / vibe default", paired(runs, "backtesting", "vibe"),
         f">= {TARGET_SPEEDUP:g}x", lambda x: x >= TARGET_SPEEDUP),
        ("vibe ORB-only / plain loop", paired(runs, "vibe-orb", "ref"),
         f"<= {TARGET_ORB_RATIO:g}x", lambda x: x <= TARGET_ORB_RATIO),
        ("backtrader / vibe default", paired(runs, "backtrader", "vibe"), "", None),
        ("vibe default / vibe ORB-only", paired(runs, "vibe", "vibe-orb"), "", None),
        ("vibe default: base / head", paired(runs, "vibe@base", "vibe"), "", None),
        ("vibe ORB-only: base / head", paired(runs, "vibe-orb@base", "vibe-orb"), "", None),
    ]  # fmt: skip
    figures["ratios"] = {}
    for name, ratios, target, ok in checks:
        if not ratios:
            continue
        m = med(ratios)
        verdict = ("PASS" if ok(m) else "MISS") if ok else ""
        said = f"  {name:<34} {m:>7.2f}x  [{min(ratios):.2f}..{max(ratios):.2f}]  {target:<8} {verdict}"
        lines.append(said.rstrip())
        figures["ratios"][name] = {
            "median": round(m, 3),
            "rounds": [round(x, 3) for x in ratios],
            "verdict": verdict,
        }
    if loops:
        orb = med([float(r.inner["orb_bars_per_s"]) for r in loops])
        verdict = "PASS" if orb >= TARGET_LOOP else "MISS"
        lines.append(
            f"  {'vibe loop alone, ORB-only':<34} {orb:>10,.0f} bars/s  >= {TARGET_LOOP:,}  {verdict}"
        )
        figures["loop_orb_bars_per_s"] = {"median": round(orb), "verdict": verdict}
        ref = runs.get("ref", [])
        if ref:
            per = paired(runs, "ref", "loop", peer_rate, lambda r: float(r.inner["orb_bars_per_s"]))
            lines.append(f"  {'plain loop / vibe loop, bars/s':<34} {med(per):>7.2f}x")
        for config in ("default", "orb"):
            rate = lambda r, k=f"{config}_bars_per_s": float(r.inner[k])  # noqa: E731
            per = paired(runs, "loop", "loop@base", rate, rate)
            if per:
                said = f"vibe loop {config}: head / base"
                lines.append(f"  {said:<34} {med(per):>7.2f}x  [{min(per):.2f}..{max(per):.2f}]")
                figures["ratios"][said] = {"median": round(med(per), 3), "rounds": [round(x, 3) for x in per]}
    if days == RSS_SIZE and runs.get("vibe"):
        rss = max(r.rss_mb for r in runs["vibe"])
        verdict = "PASS" if rss <= TARGET_RSS_MB else "MISS"
        lines.append(
            f"  {'vibe default peak RSS, 2,520':<34} {rss:>7.0f} MB  <= {TARGET_RSS_MB} MB  {verdict}"
        )
        figures["rss_2520"] = {"max_mb": round(rss), "verdict": verdict}
    agree = True
    counts = {e: int(runs[e][0].inner["trades"]) for e in PEERS if runs.get(e)}
    if counts:
        floor = days * len(SYMBOLS) // 4  # the rules trade on most symbol-days of a random walk
        values = [int(r.inner["trades"]) for e in counts for r in runs[e]]  # every round's
        agree = max(values) - min(values) <= 2 and min(values) >= floor
        said = ", ".join(f"{SHORT[e]} {c}" for e, c in counts.items())
        verdict = "agree" if agree else f"DISAGREE or too few (< {floor}): a peer or the data is broken"
        lines.append(f"peer trades: {said}: {verdict}")
        figures["peer_trades"] = {**counts, "agree": agree}
    return lines, figures, agree


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def git_rev(src: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(src), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="504,2520", help="sessions, comma-separated (default 504,2520)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of every engine, interleaved")
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"any of {','.join(ENGINES)}")
    ap.add_argument("--quick", action="store_true", help="60 sessions, 2 rounds (a smoke run)")
    ap.add_argument(
        "--work", type=Path, default=None, help="data cache (default $XDG_CACHE_HOME/vibe-bench-peers)"
    )
    ap.add_argument("--kit", default=None, help="the peer kit (default ../shared/bench-peers)")
    ap.add_argument(
        "--src", type=Path, default=ROOT / "src", help="vibe's source tree (default this checkout's)"
    )
    ap.add_argument("--rev", default=None, help="time this commit's vibe (git archive) instead of --src")
    ap.add_argument("--base", default=None, help="also time this commit's vibe, interleaved (engines @base)")
    ap.add_argument("--backtrader-feed", choices=("fast", "pandas"), default="fast")
    ap.add_argument("--json", type=Path, default=None, help="write every raw time here")
    ap.add_argument("--loop-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.loop_child:
        loop_child(args.loop_child)
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    sizes = [60] if args.quick else [int(s) for s in args.sizes.split(",")]
    rounds = 2 if args.quick else args.rounds
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    try:
        kit = find_kit(args.kit)
    except Skip as skip:
        print(skip)
        return 0
    for engine in list(engines):
        package = PEERS.get(engine, (None, None))[1]
        if package and importlib.util.find_spec(package) is None:
            print(f"bench_peers: {engine} skipped: {package} is not installed (pip install '.[bench]')")
            engines.remove(engine)
    work = (args.work or default_work()).resolve()
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vibe-bench-peers-") as tmp:
        src, base = args.src.resolve(), None
        if args.rev or args.base:
            from bench_compare import export, resolve

            if args.rev:
                src = export(resolve(args.rev), Path(tmp) / "tree") / "src"
            if args.base:
                base = export(resolve(args.base), Path(tmp) / "base") / "src"
                engines = [x for e in engines for x in ((e, f"{e}@base") if e in VIBE_ENGINES else (e,))]
        for tree in (src, base):
            if tree is not None:
                compile_tree(tree)
        bench = Bench(kit, work, src, args.backtrader_feed, base)
        return measure(args, bench, engines, sizes, rounds)


def compile_tree(src: Path) -> None:
    """Byte-compile a vibe tree once, as an installed package is: the peers' packages come with
    bytecode, and a source tree run with ``PYTHONDONTWRITEBYTECODE`` set (this machine sets it)
    would compile vibe's modules again in every run (55-70 ms of CPU)."""
    import compileall

    compileall.compile_dir(str(src), quiet=1)


def measure(args: argparse.Namespace, bench: Bench, engines: list[str], sizes: list[int], rounds: int) -> int:
    """The rounds at every size, the printed tables and the JSON; 1 if the peers disagree."""
    kit, work = bench.kit, bench.work
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "src": str(bench.src),
        "rev": args.rev or git_rev(bench.src), "base": args.base, "kit": str(kit), "work": str(work),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "rounds": rounds, "engines": engines, "load_start": load_text(),
        "sizes": {},
    }  # fmt: skip
    based = f"; base {args.base} from {bench.base_src}" if bench.base_src else ""
    print(f"bench_peers: {', '.join(engines)}; {rounds} rounds; vibe from {bench.src} ({report['rev']})"
          f"{based}; kit {kit}; data in {work}; load average {report['load_start']}")  # fmt: skip
    all_agree = True
    for days in sizes:
        folder = prepare(kit, work, days)
        runs: dict[str, list[Run]] = {}
        load_before = load_text()
        for rnd in range(1, rounds + 1):
            said = []
            for engine in engines:
                run = bench.run(engine, days, folder, rnd)
                runs.setdefault(engine, []).append(run)
                said.append(f"{engine} {run.wall_s:.2f}s/{run.rss_mb:.0f}MB")
            print(f"  {days}d round {rnd}/{rounds}: {', '.join(said)} (load {load_text()})", flush=True)
        lines, figures, agree = summarize(days, runs)
        all_agree &= agree
        load_after = load_text()
        print(f"\n{days} sessions, {rounds} interleaved rounds, load average {load_before} -> {load_after}:")
        print("\n".join(lines) + "\n")
        report["sizes"][str(days)] = {
            **figures, "load_before": load_before, "load_after": load_after,
            "runs": [asdict(r) for rs in runs.values() for r in rs],
        }  # fmt: skip
    report["load_end"] = load_text()
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
        print(f"raw times in {args.json}")
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
