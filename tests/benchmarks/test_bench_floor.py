"""The floor benchmark's own logic: exclusive part times, the floor, the patches undone.

The timings themselves are not tested (no timed assertions); ``bench_floor.py`` runs it all.
"""

from __future__ import annotations

from types import ModuleType

import pytest


def test_a_part_keeps_only_its_own_time(bf: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(100))
    monkeypatch.setattr(bf.time, "perf_counter", lambda: float(next(ticks)))
    parts = bf.Parts()  # t=0: the loop's own time starts

    def inner() -> None:
        next(ticks)  # one tick inside

    parts.timed("questions", lambda: (next(ticks), parts.timed("catch-ups", inner)()))()
    parts.leave("loop")  # the loop ends
    # questions: entered at 1, tick 2, catch-ups entered at 3 (questions got 2), tick 4, left at 5
    # (catch-ups got 2), questions left at 6 (got 1 more); the loop: 0..1 and 6..7
    assert parts.spent["questions"] == 3.0
    assert parts.spent["catch-ups"] == 2.0
    assert parts.spent["loop"] == 2.0
    assert parts.count == {"questions": 1, "catch-ups": 1, "loop": 1}
    assert parts.stack == []


def test_the_floor_leaves_out_the_riders_of_decision_steps(bf: ModuleType) -> None:
    spent = {p: 0.0 for p in bf.PARTS}
    spent.update({"decision steps": 10.0, "other steps": 4.0, "indicators": 1.0})
    b = bf.Breakdown(
        bars=1000,
        seconds=1.0,
        timed_seconds=1.1,
        spent=spent,
        count={"decision steps": 5, "other steps": 2},
        decision_bars=9,  # 4 bars rode along
        other_bars=8,  # 0.5 s a bar
    )
    assert b.floor == pytest.approx(10.0 - 4 * 0.5 + 1.0)


def test_the_sample_market_is_split_into_parts_that_add_up(bf: ModuleType) -> None:
    from vibe_backtest import loop
    from vibe_core.engine import skip, step

    b = bf.measure(None, bf.ORB_ONLY, 1)
    assert sum(b.spent.values()) == pytest.approx(b.timed_seconds, rel=0.01)
    assert b.count["decision steps"] > 0
    assert b.count["other steps"] > 0
    assert b.count["questions"] > 0
    assert b.decision_bars >= b.count["decision steps"]
    assert 0 < b.floor < b.timed_seconds
    # every patch is undone
    assert loop.step is step
    assert loop.quiet is skip.quiet
    assert skip.Quiet.extent.__qualname__ == "Quiet.extent"
