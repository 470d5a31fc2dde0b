"""``vibe-backtest`` as a new user meets it: bad input exits 2 in one line; results whole or absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vibe_backtest.api import run_backtest
from vibe_backtest.cli import main
from vibe_backtest.results import RESULT_FILES

TINY = ["--quiet", "--no-report", "--symbols", "MSFT", "--end", "2024-05-03"]


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vibe-backtest: error:"), err
    assert "Traceback" not in err and err.count("\n") == 1, err  # one line
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- --out: checked first, written atomically ----------------------------------------------------


def test_out_below_a_file_is_refused_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine\n")
    # ZZZZ would fail when the market is loaded: the --out error comes first, so nothing ran
    err = fails_with(capsys, ["run", *TINY, "--symbols", "ZZZZ", "--out", str(blocker / "out")], "--out")
    assert str(blocker) in err and "ZZZZ" not in err
    fails_with(capsys, ["run", *TINY, "--out", str(blocker)], "--out", "not a folder")
    assert blocker.read_text() == "mine\n" and litter(tmp_path) == []


def test_out_holding_other_files_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("keep me")
    fails_with(capsys, ["run", *TINY, "--out", str(out)], "--out", "chapter1.tex")
    assert [p.name for p in out.iterdir()] == ["chapter1.tex"] and litter(tmp_path) == []


def test_an_earlier_results_folder_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    assert main(["run", *TINY, "--set", "seed=5", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 5
    assert {p.name for p in out.iterdir()} == RESULT_FILES - {"report.html"}
    assert litter(tmp_path) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", *TINY, "--out", str(empty)]) == 0
    assert (empty / "trades.csv").exists()


def test_an_error_while_writing_leaves_no_folder_and_no_temporary_one(tmp_path: Path) -> None:
    result = run_backtest(symbols=["MSFT"], end="2024-05-03", keep_bars=False)
    result.summary["unwritable"] = object()  # json.dumps fails after the CSV files are written
    out = tmp_path / "out"
    with pytest.raises(TypeError):
        result.write(out, report=False)
    assert list(tmp_path.iterdir()) == []


def _interrupt_while_writing(tmp_path: Path, delay: float) -> tuple[int, Path]:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIBE__")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vibe_backtest.cli", "run", "--quiet", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(tmp_path.glob(".out.*.partial/*")):  # the first result file is being written
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    return proc.returncode, out


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.4])
def test_ctrl_c_while_writing_leaves_a_complete_folder_or_none(tmp_path: Path, delay: float) -> None:
    code, out = _interrupt_while_writing(tmp_path, delay)
    if out.exists():  # the signal came after the folder was renamed into place (exit 0, or during exit)
        assert code in (0, 130, -signal.SIGINT)
        assert {p.name for p in out.iterdir()} == RESULT_FILES
        assert (out / "report.html").read_text().rstrip().endswith("</html>")
    else:
        assert code == 130  # "vibe-backtest: interrupted"
    assert litter(tmp_path) == []


# --- options that are wrong before anything runs ------------------------------------------------


def test_unknown_tz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(
        capsys, ["run", *TINY, "--tz", "Mars/Olympus", "--out", str(tmp_path / "o")], "--tz", "Mars/Olympus"
    )
    assert not (tmp_path / "o").exists()


def test_start_after_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--quiet", "--start", "2024-06-10", "--end", "2024-06-01", "--out", str(tmp_path / "o")]
    fails_with(capsys, argv, "--start 2024-06-10 is after --end 2024-06-01")


def test_data_given_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--out", str(tmp_path / "data"), "--sessions", "2"]) == 0
    capsys.readouterr()
    file = tmp_path / "data" / "AAPL.csv"
    fails_with(
        capsys,
        ["run", *TINY[:2], "--data", str(file), "--out", str(tmp_path / "o")],
        "is a file",
        str(file.parent),
    )


def test_dates_partly_outside_the_data_warn_with_the_covered_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "--quiet",
                "--no-report",
                "--symbols",
                "MSFT",
                "--start",
                "2024-04-22",
                "--end",
                "2024-05-02",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert err.startswith("vibe-backtest: warning:") and "data covers 2024-05-01 to 2024-07-26" in err, err
    assert "7 session(s)" in err  # 2024-04-22 .. 2024-04-30: seven weekdays, no holiday
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["start"], summary["end"]) == ("2024-05-01", "2024-05-02")
    assert main(["run", *TINY, "--out", str(tmp_path / "inside")]) == 0
    assert capsys.readouterr().err == ""  # inside the data: no warning


def test_dates_wholly_outside_the_data_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--quiet", "--start", "2023-01-03", "--end", "2023-02-01", "--out", str(tmp_path / "o")]
    fails_with(
        capsys, argv, "no bars between 2023-01-03 and 2023-02-01", "data covers 2024-05-01 to 2024-07-26"
    )
    assert not (tmp_path / "o").exists()


# --- config errors name their layer ---------------------------------------------------------------


def test_a_type_error_names_the_file_the_variable_or_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "o")
    config = tmp_path / "team.yaml"
    config.write_text("risk:\n  max_open_positions: several\n")
    fails_with(
        capsys,
        ["run", *TINY, "--config", str(config), "--out", out],
        f": {config}: ",
        "risk.max_open_positions",
    )
    monkeypatch.setenv("VIBE__STRATEGY__ALLOW_SHORT", "sometimes")
    fails_with(
        capsys,
        ["run", *TINY, "--out", out],
        "environment VIBE__STRATEGY__ALLOW_SHORT",
        "strategy.allow_short",
    )
    monkeypatch.delenv("VIBE__STRATEGY__ALLOW_SHORT")
    fails_with(capsys, ["run", *TINY, "--set", "seed=one", "--out", out], "error: --set: ", "seed")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("grid", "needles"),
    [
        ("strategy.reward_risk", ["--grid", "key.path=value"]),
        ("strategy.reward_rsk=1,2", ["--grid", "strategy.reward_rsk"]),
        ("strategy.reward_risk=1,abc", ["--grid", "strategy.reward_risk"]),
        ("strategy.opening_range_minutes=15,-5", ["--grid", "opening_range_minutes"]),
    ],
)
def test_grid_errors_name_grid(
    grid: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails_with(capsys, ["sweep", "--grid", grid, "--out", str(tmp_path / "s")], *needles)
    assert not (tmp_path / "s").exists()


# --- output text and the sample command -------------------------------------------------------------


def test_no_report_does_not_mention_report_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", "--no-report", "--symbols", "MSFT", "--end", "2024-05-03", "--out", str(tmp_path / "a")])
        == 0
    )
    printed = capsys.readouterr().out
    assert "final equity" in printed and "report.html" not in printed
    assert main(["run", "--symbols", "MSFT", "--end", "2024-05-03", "--out", str(tmp_path / "b")]) == 0
    assert "report.html" in capsys.readouterr().out


def test_sample_sessions_end_symbols_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    argv = ["sample", "--out", str(out), "--sessions", "3", "--end", "2024-07-05", "--symbols", "aapl,NVDA"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["AAPL.csv", "NVDA.csv"]
    rows = (out / "AAPL.csv").read_text().splitlines()[1:]
    days = sorted({r.split(",")[0][:10] for r in rows})
    assert days == ["2024-07-02", "2024-07-03", "2024-07-05"]  # 07-04 is a holiday
    assert len(rows) == 78 + 42 + 78  # 2024-07-03 closes at 13:00
    capsys.readouterr()
    again = tmp_path / "seeded"
    assert main([*argv[:2], str(again), *argv[3:], "--seed", "8"]) == 0
    assert (again / "AAPL.csv").read_text() != (out / "AAPL.csv").read_text()
    fails_with(capsys, ["sample", "--out", str(tmp_path / "x"), "--sessions", "100000"], "--sessions 100000")
    with pytest.raises(SystemExit) as info:
        main(["sample", "--out", str(tmp_path / "x"), "--sessions", "0"])
    assert info.value.code == 2


def test_sample_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = capsys.readouterr().out
    for option in ("--out", "--format", "--sessions", "--end", "--symbols", "--seed"):
        assert option in text
