"""Sweeps on every backend: a process pool, a Dask LocalCluster, and a Dask scheduler + worker started
as separate processes on 127.0.0.1 (the way a real cluster is reached) give the same ``sweep.csv``.

Also: a run that raises is a row with its parameters and error (the others complete); Ctrl-C
leaves no folder behind; the ``sweep`` config section chooses the backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from vibe_backtest.api import load_market
from vibe_backtest.backends import open_backend
from vibe_backtest.cli import main

pytest.importorskip("distributed")

SRC = str(Path(__file__).parents[2] / "src")
TINY = ["--symbols", "AAPL,TSLA", "--end", "2024-05-14"]  # 10 sessions of the sample market
GRID = ["--grid", "strategy.reward_risk=1.5,3", "--grid", "strategy.opening_range_minutes=5,15"]


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__")}
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    """A Dask scheduler and one worker, each its own process, on 127.0.0.1; yields the address."""
    info = tmp_path / "scheduler.json"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(info)],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert procs[0].poll() is None, "the scheduler exited"
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _sweep(out: Path, *options: str) -> str:
    assert main(["sweep", *TINY, *GRID, *options, "--out", str(out)]) == 0
    return (out / "sweep.csv").read_text()


def test_every_backend_writes_the_same_sweep_csv(tmp_path: Path, scheduler: str) -> None:
    pool = _sweep(tmp_path / "pool", "--backend", "pool", "--workers", "2")
    local = _sweep(tmp_path / "local", "--backend", "dask", "--workers", "2")
    remote = _sweep(tmp_path / "remote", "--scheduler", scheduler)
    assert pool == local == remote
    table = pd.read_csv(tmp_path / "pool" / "sweep.csv")
    assert len(table) == 4 and table["error"].isna().all()
    assert table["final_equity"].nunique() > 1  # the cells really differ
    # the market reaches the worker once: every task there sees the very same object
    market = load_market(symbols=["AAPL"], end="2024-05-03")
    with open_backend(market, scheduler=scheduler) as backend:
        seen = [v for _, v in backend.map_unordered(lambda m, i: (os.getpid(), id(m)), range(6), desc="t")]
    assert len(set(seen)) == 1 and seen[0][0] != os.getpid()


FAILING = '''
"""ORB that raises at the first session open when reward_risk is 3: a bug in one grid cell."""

from vibe_core.strategy.orb import OpeningRangeBreakout


class Boom(OpeningRangeBreakout):
    def on_session_open(self, symbol, session):
        if self.config.reward_risk == 3:
            raise RuntimeError("boom at reward_risk 3")
        super().on_session_open(symbol, session)
'''


def test_a_failing_run_is_a_row_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "pkg" / "boomstrats"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "boom.py").write_text(textwrap.dedent(FAILING))
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "pkg"), SRC]))  # the workers' path
    out = tmp_path / "sweep"
    code = main(
        ["sweep", *TINY, "--set", "strategy.name=boomstrats.boom:Boom", "--backend", "dask", "--workers", "1",
         "--grid", "strategy.reward_risk=1.5,3,4", "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1  # written, but the exit code says a run failed
    table = pd.read_csv(out / "sweep.csv")
    assert table["strategy.reward_risk"].tolist() == [1.5, 3.0, 4.0]  # grid order kept
    failed = table[table["strategy.reward_risk"] == 3.0].iloc[0]
    assert failed["error"] == "RuntimeError: boom at reward_risk 3"
    assert pd.isna(failed["final_equity"])
    ok = table[table["strategy.reward_risk"] != 3.0]
    assert ok["error"].isna().all() and ok["final_equity"].notna().all()
    assert "run failed (strategy.reward_risk=3.0): RuntimeError: boom at reward_risk 3" in err
    assert "1 of 3 runs failed" in err
    assert "1 of 3 runs failed" in (out / "sweep.html").read_text()


def test_ctrl_c_cancels_and_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibe_backtest.cli", "sweep", "--backend", "dask", "--workers", "1",
         "--grid", "strategy.reward_risk=1,1.5,2,2.5,3,3.5,4,4.5", "--out", str(out)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".partial") for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(3)  # the cluster starts and the first tasks run (eight take far longer)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no results folder, no .partial left


def test_the_sweep_section_of_the_config_picks_the_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text("sweep:\n  backend: pool\n  workers: 1\nstrategy:\n  reward_risk: 2\n")
    assert (
        main(["sweep", *TINY, "--config", str(config), "--grid", "seed=1,2", "--out", str(tmp_path / "s")])
        == 0
    )
    assert "on pool, 1 worker(s)" in capsys.readouterr().out
    # the section is the backtester's own: `run` and `config show` take the same file
    assert (
        main(["run", "--quiet", "--no-report", *TINY, "--config", str(config), "--out", str(tmp_path / "r")])
        == 0
    )
    assert main(["config", "show", "--config", str(config)]) == 0
    shown = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    assert {f"backend: pool # {config}", "scheduler: null # default", f"workers: 1 # {config}"} <= shown
    bad = tmp_path / "bad.yaml"
    bad.write_text("sweep:\n  schedular: tcp://127.0.0.1:8786\n")
    assert (
        main(["sweep", *TINY, "--config", str(bad), "--grid", "seed=1,2", "--out", str(tmp_path / "b")]) == 2
    )
    err = capsys.readouterr().err
    assert "sweep.schedular" in err and str(bad) in err and "scheduler" in err
    assert main(["sweep", *TINY, "--grid", "seed=1,2", "--set", "sweep.scheduler=nowhere"]) == 2
    assert "sweep.scheduler" in capsys.readouterr().err
