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
                  "threshold": gc.get_threshold()[0]}))
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


def test_other_commands_collect_again_at_once() -> None:
    seen = _probe("config", "show")
    assert seen["code"] == 0 and seen["held before"] is True and seen["enabled"] is True


def test_main_in_process_leaves_the_collector_alone(tmp_path: Path) -> None:
    before = (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold())
    assert main(["run", "--quiet", "--no-report", "--symbols", "AAPL", "--end", "2024-05-10",
                 "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    assert (gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()) == before
