"""The peer benchmark's own logic: the data fix, the paired ratios and the broken-peer check.

The timings themselves are not tested (no timed assertions); ``bench_peers.py --quick`` runs it all.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def test_microsecond_timestamps_are_rewritten_as_nanoseconds(bp: ModuleType, tmp_path: Path) -> None:
    stamps = pd.date_range("2015-01-05 14:30", periods=3, freq="5min", tz="UTC")
    frame = pd.DataFrame({"timestamp": stamps.as_unit("us"), "close": [1.0, 2.0, 3.0]})
    path = tmp_path / "AAPL.parquet"
    frame.to_parquet(path, index=False)
    assert pq.read_schema(path).field("timestamp").type == pa.timestamp("us", tz="UTC")

    assert bp._ns_timestamps(path) is True
    back = pd.read_parquet(path).set_index("timestamp")
    assert back.index.asi8.tolist() == stamps.as_unit("ns").asi8.tolist()  # what the peers read
    assert back["close"].tolist() == [1.0, 2.0, 3.0]
    assert bp._ns_timestamps(path) is False  # already ns: left alone


def _runs(bp: ModuleType, walls: dict[str, list[float]], trades: dict[str, int]) -> dict[str, list[object]]:
    return {
        engine: [
            bp.Run(
                engine,
                k + 1,
                w,
                100.0 + k,
                0.5,
                {"trades": trades.get(engine, 0), "bars": 1000, "median_s": 0.5},
            )
            for k, w in enumerate(ws)
        ]
        for engine, ws in walls.items()
    }


def test_ratios_are_paired_by_round_and_judged(bp: ModuleType) -> None:
    walls = {
        "vibe": [1.0, 2.0, 4.0],
        "backtesting": [3.0, 3.0, 3.0],
        "vibe-orb": [1.0, 1.0, 1.0],
        "ref": [1.0, 0.5, 1.0],
    }
    runs = _runs(bp, walls, {"backtesting": 100, "ref": 100})
    assert bp.paired(runs, "backtesting", "vibe") == [3.0, 1.5, 0.75]

    lines, figures, agree = bp.summarize(20, runs)

    assert figures["ratios"]["backtesting.py / vibe default"] == {
        "median": 1.5, "rounds": [3.0, 1.5, 0.75], "verdict": "MISS"
    }  # fmt: skip
    assert figures["ratios"]["vibe ORB-only / plain loop"]["median"] == 1.0
    assert figures["ratios"]["vibe ORB-only / plain loop"]["verdict"] == "PASS"
    assert figures["engines"]["vibe"]["median_s"] == 2.0
    assert figures["engines"]["vibe"]["peak_rss_mb"] == 102
    assert agree
    assert any("agree" in line for line in lines)


@pytest.mark.parametrize(
    ("trades", "agree"),
    [
        ({"ref": 6, "backtesting": 6}, False),  # too few: the microsecond bug, shared by both
        ({"ref": 100, "backtesting": 90}, False),  # a peer disagrees
        ({"ref": 100, "backtesting": 99}, True),  # backtesting.py's last-bar quirk
    ],
)
def test_broken_peers_are_caught(bp: ModuleType, trades: dict[str, int], agree: bool) -> None:
    runs = _runs(bp, {"ref": [1.0], "backtesting": [2.0]}, trades)
    _, figures, said = bp.summarize(20, runs)
    assert said is agree
    assert figures["peer_trades"]["agree"] is agree


def test_without_the_kit_it_skips(bp: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bp.main(["--kit", str(tmp_path), "--quick", "--work", str(tmp_path / "work")]) == 0
    assert "skipped: the peer kit is not at" in capsys.readouterr().out
