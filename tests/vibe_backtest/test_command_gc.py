"""The ``vibe-backtest`` command holds automatic garbage collection while it starts (imports,
config, data), then freezes what exists and collects again; ``main`` called in-process (tests,
notebooks) leaves the collector as it found it."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from vibe_backtest.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
PROBE = """
import gc, json, sys
import vibe_backtest.cli as cli
seen = {}
real = cli._collect_again
def probe():
    seen["held before"] = not gc.isenabled()
    real()
cli._collect_again = probe
cli._hold_collection()
code = cli.main(sys.argv[1:])
print(json.dumps({"code": code, **seen, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold()[0], "pandas": "pandas" in sys.modules,
                  "full collections": gc.get_stats()[2]["collections"]}))
"""


def _probe(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_run_collects_again_once_its_data_is_loaded(tmp_path: Path) -> None:
    seen = _probe("run", "--quiet", "--no-report", "--symbols", "AAPL", "--end", "2024-05-10",
                  "--out", str(tmp_path / "o"))  # fmt: skip
    assert seen["code"] == 0 and seen["held before"] is True
    assert seen["enabled"] is True and seen["threshold"] == 5_000
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000  # the imports' objects
    assert (tmp_path / "o" / "bars.csv").is_file()


def test_data_read_through_pandas_is_collected_before_it_is_frozen(tmp_path: Path) -> None:
    """A CSV layout the Arrow reader leaves to pandas (date and time columns): the frames' cycles
    are collected, not frozen for good; the Parquet path (above) skips that collection."""
    import pandas as pd

    from vibe_backtest.api import load_market

    bars = load_market(symbols=["AAPL"], end="2024-05-10")["AAPL"].to_frame()
    local = bars["timestamp"]
    frame = bars.drop(columns="timestamp").assign(
        date=local.dt.strftime("%Y-%m-%d"), time=local.dt.strftime("%H:%M")
    )
    (tmp_path / "data").mkdir()
    pd.DataFrame(frame).to_csv(tmp_path / "data" / "AAPL.csv", index=False)
    seen = _probe("run", "--quiet", "--no-report", "--data", str(tmp_path / "data"),
                  "--out", str(tmp_path / "o"))  # fmt: skip
    assert seen["code"] == 0 and seen["pandas"] is True
    fast = _probe("run", "--quiet", "--no-report", "--symbols", "AAPL", "--end", "2024-05-10",
                  "--out", str(tmp_path / "p"))  # fmt: skip
    assert fast["pandas"] is False
    assert seen["full collections"] == fast["full collections"] + 1  # (the same short runs otherwise)


def test_other_commands_collect_again_at_once() -> None:
    seen = _probe("config", "show")
    assert seen["code"] == 0 and seen["held before"] is True and seen["enabled"] is True


def test_main_in_process_leaves_the_collector_alone(tmp_path: Path) -> None:
    before = (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold())
    assert main(["run", "--quiet", "--no-report", "--symbols", "AAPL", "--end", "2024-05-10",
                 "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    assert (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()) == before
