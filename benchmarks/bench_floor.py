"""Where the skipping loop's time goes, and the floor that puts under issue 14's targets.

The loop's cost is its events times their cost, not its bars. This script runs
``vibe_backtest.loop.run_market`` in process on the peer kit's data (generated and cached as
``bench_peers.py`` does) with each kind of event timed, exclusively (a part's time leaves out the
parts it calls):

- ``decision steps``: steps whose actions hold a signal's evaluation or a fill (an entry with its
  bracket, an exit, the flatten's fills): the strategy's and the venue's work itself, which no
  skipping removes;
- ``other steps``: every other step of bars (the session's open and the range bars, quiet bars of
  a loud instant, a close back inside the range) and the closes' ``Clock`` steps;
- ``indicators``: the indicator bank fed, in steps and in catch-ups (with validation on, every
  higher-timeframe bar must reach it: also work no skipping removes; a batch fed when a value is
  read counts in the step that reads it, so the floor errs low);
- ``questions``: ``quiet`` and ``Quiet.extent``; ``catch-ups``: ``catch_up`` and ``catch_up_row``;
- ``loop``: the rest (building the bar events, equity samples, records).

The **floor** is the part no skipping design removes: the decision steps (less the cost of the other
bars that rode in the same steps, at the other steps' cost per bar) and the indicators. It is
compared with the loop's budget for 1,000,000 bars/s (ORB-only). Given ``--peers`` (a JSON file of
``bench_peers.py --json``, same size), the whole-process floors are compared with the process
targets: the process's time outside its loop (its median less the loop alone, from the same file)
plus the loop's floor, against 1.5 x the plain loop (ORB-only) and backtesting.py / 2 (default);
and again with the plain loop's own time outside its loop (its start-up and data reading) in place
of vibe's, the least a process could spend there.

    python benchmarks/bench_floor.py [--sizes 504,2520] [--repeats 3] [--peers 504=out504.json,...]

Timing every call costs about a microsecond each, a few percent of the loop: the parts add up to
the timed loop, which is a little slower than the loop alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers import (
    ORB_ONLY,
    TARGET_LOOP,
    TARGET_ORB_RATIO,
    TARGET_SPEEDUP,
    Skip,
    default_work,
    find_kit,
    prepare,
)

PARTS = ("decision steps", "other steps", "indicators", "questions", "catch-ups", "loop")


class Parts:
    """Exclusive time per part: a stack of open calls, the time going to the one on top, booked to
    a part when it returns (a step's part is known only then)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.stack = [0.0]  #: each open call's own time so far; the bottom one is the loop's
        self.mark = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stack[-1] += now - self.mark
        self.mark = now

    def enter(self) -> None:
        self._tick()
        self.stack.append(0.0)

    def leave(self, part: str) -> None:
        self._tick()
        self.spent[part] += self.stack.pop()
        self.count[part] += 1

    def timed(self, part: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.enter()
            try:
                return func(*args, **kwargs)
            finally:
                self.leave(part)

        return call


@attrs.define
class Breakdown:
    bars: int
    seconds: float  #: the loop alone, untimed (best of the repeats)
    timed_seconds: float  #: the timed loop
    spent: dict[str, float]
    count: dict[str, int]
    decision_bars: int  #: bars of the decision steps
    other_bars: int  #: bars of the other steps

    @property
    def floor(self) -> float:
        """Decision steps less their riders at the other steps' cost per bar, plus the indicators."""
        per_bar = self.spent["other steps"] / max(self.other_bars, 1)
        riders = max(self.decision_bars - self.count["decision steps"], 0) * per_bar
        return self.spent["decision steps"] - riders + self.spent["indicators"]


def measure(folder: Path | None, sets: tuple[str, ...], repeats: int) -> Breakdown:
    """The loop over ``folder``'s bars (``None``: the sample market) for the config of ``sets``."""
    from vibe_backtest import api, loop
    from vibe_backtest.settings import load_settings
    from vibe_core.actions import SignalEvaluated
    from vibe_core.engine import skip
    from vibe_core.events import BarSlice, Filled
    from vibe_core.indicators.bank import IndicatorBank

    market = api.load_market(folder)
    sessions = api.calendar()
    config = attrs.evolve(load_settings(None, sets), symbols=tuple(market))
    bars = sum(len(s) for s in market.values())
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        loop.run_market(market, config, sessions)
        best = min(best, time.perf_counter() - started)

    decisions = (Filled, SignalEvaluated)
    parts = Parts()
    sizes = {"decision steps": 0, "other steps": 0}
    real_step = loop.step

    def step(state: Any, event: Any) -> Any:
        part = "other steps"
        parts.enter()
        try:
            out = real_step(state, event)
            if any(isinstance(a, decisions) for a in out[1]):
                part = "decision steps"
            return out
        finally:
            parts.leave(part)
            sizes[part] += len(event.bars) if isinstance(event, BarSlice) else 0

    patched: list[tuple[Any, str, Any]] = [
        (loop, "step", step),
        (loop, "quiet", parts.timed("questions", loop.quiet)),
        (loop, "catch_up", parts.timed("catch-ups", loop.catch_up)),
        (loop, "catch_up_row", parts.timed("catch-ups", loop.catch_up_row)),
        (skip.Quiet, "extent", parts.timed("questions", skip.Quiet.extent)),
        (IndicatorBank, "on_bars", parts.timed("indicators", IndicatorBank.on_bars)),
        (IndicatorBank, "extend_each", parts.timed("indicators", IndicatorBank.extend_each)),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    try:
        for owner, name, func in patched:
            setattr(owner, name, func)
        started = parts.mark = time.perf_counter()
        loop.run_market(market, config, sessions)
        timed = time.perf_counter() - started
        parts.leave("loop")  # the loop's own time up to the end
    finally:
        for owner, name, func in saved:
            setattr(owner, name, func)
    spent = {p: parts.spent.get(p, 0.0) for p in PARTS}
    return Breakdown(
        bars=bars,
        seconds=best,
        timed_seconds=timed,
        spent=spent,
        count=dict(parts.count),
        decision_bars=sizes["decision steps"],
        other_bars=sizes["other steps"],
    )


def _verdict(floor: float, target: float) -> str:
    return "below the floor: unreachable" if floor > target else "above the floor"


def report(size: int, name: str, b: Breakdown, peers: dict[str, Any] | None) -> list[str]:
    lines = [
        f"\n{size} sessions, {name}: {b.bars:,} bars; the loop alone {b.seconds:.3f} s "
        f"({b.bars / b.seconds / 1e3:,.0f}k bars/s), timed {b.timed_seconds:.3f} s",
        f"  {'part':<15}{'events':>8}{'ms':>9}{'us each':>9}{'share':>8}",
    ]
    for part in PARTS:
        n = b.count.get(part, 0) if part != "loop" else 0
        ms = b.spent[part] * 1e3
        each = f"{b.spent[part] / n * 1e6:.1f}" if n else ""
        lines.append(f"  {part:<15}{n or '':>8}{ms:>9.1f}{each:>9}{b.spent[part] / b.timed_seconds:>8.0%}")
    lines.append(
        f"  bars per step: decisions {b.decision_bars / max(b.count.get('decision steps', 0), 1):.2f}, "
        f"other {b.other_bars / max(b.count.get('other steps', 0), 1):.2f}"
    )
    lines.append(f"  floor (decision steps without riders + indicators): {b.floor * 1e3:.1f} ms")
    if name == "orb":
        budget = b.bars / TARGET_LOOP
        verdict = _verdict(b.floor, budget)
        lines.append(f"  budget of the loop at {TARGET_LOOP:,} bars/s: {budget * 1e3:.1f} ms ({verdict})")
    if peers is not None:
        engines = peers["sizes"][str(size)]["engines"]
        run = engines.get("vibe-orb" if name == "orb" else "vibe")
        if run and run.get("loop_bars_per_s"):  # (its loop's rate in that process, from its summary)
            outside = run["median_s"] - b.bars / run["loop_bars_per_s"]
            floor = outside + b.floor
            if name == "orb" and "ref" in engines:
                target = TARGET_ORB_RATIO * engines["ref"]["median_s"]
                what = f"{TARGET_ORB_RATIO:g} x the plain loop"
            elif name == "default" and "backtesting" in engines:
                target = engines["backtesting"]["median_s"] / TARGET_SPEEDUP
                what = f"backtesting.py / {TARGET_SPEEDUP:g}"
            else:
                return lines
            lines.append(
                f"  whole process: {run['median_s']:.2f} s, of it outside the loop {outside:.2f} s; "
                f"floor {floor:.2f} s; target ({what}) {target:.2f} s ({_verdict(floor, target)})"
            )
            ref = engines.get("ref")
            if ref and ref.get("loop_bars_per_s"):  # (what vibe's start-up and output could shrink to)
                lean = ref["median_s"] - b.bars / ref["loop_bars_per_s"] + b.floor
                verdict = _verdict(lean, target)
                lines.append(
                    f"  ... with the plain loop's time outside its loop: floor {lean:.2f} s ({verdict})"
                )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="504,2520")
    ap.add_argument("--repeats", type=int, default=3, help="untimed loops; the best is kept")
    ap.add_argument("--peers", default="", help="SIZE=bench_peers.json,... for the process floors")
    ap.add_argument("--kit", default=None)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the breakdowns here")
    args = ap.parse_args(argv)
    try:
        kit = find_kit(args.kit)
    except Skip as skip:
        print(skip)
        return 0
    work = args.work or default_work()
    peers = {}
    for item in filter(None, args.peers.split(",")):
        size, _, path = item.partition("=")
        peers[int(size)] = json.loads(Path(path).read_text())
    out: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        folder = prepare(kit, work, size)
        for name, sets in (("orb", ORB_ONLY), ("default", ())):
            b = measure(folder, sets, args.repeats)
            print("\n".join(report(size, name, b, peers.get(size))), flush=True)
            out[f"{size}/{name}"] = {**attrs.asdict(b), "floor": b.floor}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
