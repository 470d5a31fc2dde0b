"""``vibe-backtest run`` writes bars.csv in a thread while the backtest runs: the same bytes as
``BacktestResult.write``; a failure on either side leaves no folder and no thread behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import vibe_backtest.results as results
from vibe_backtest.api import run_backtest
from vibe_backtest.cli import main

SMALL = ["--symbols", "AAPL,MSFT", "--end", "2024-05-31"]


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bars.csv"]


def test_the_commands_bars_csv_is_the_one_write_makes(tmp_path: Path) -> None:
    assert main(["run", "--quiet", "--no-report", *SMALL, "--out", str(tmp_path / "cli")]) == 0
    result = run_backtest(symbols=["AAPL", "MSFT"], end="2024-05-31")
    result.write(tmp_path / "api", report=False)
    for name in ("bars.csv", "trades.csv", "equity.csv", "orders.csv"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes(), name
    assert not _writers()


def test_a_failing_backtest_waits_for_the_writer_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vibe_backtest.api

    def broken(*_args: object, **_kwargs: object) -> None:
        assert _writers(), "bars.csv is being written while the backtest runs"
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(vibe_backtest.api, "run_backtest", broken)
    assert main(["run", "--quiet", *SMALL, "--out", str(tmp_path / "o")]) == 1
    assert "boom in the engine" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # neither the results nor the partial folder
    assert not _writers()


def test_a_failure_writing_bars_csv_is_raised_and_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full_disk(path: Path, bars: object) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(results, "_write_bars_csv", full_disk)
    assert main(["run", "--quiet", "--no-report", *SMALL, "--out", str(tmp_path / "o")]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_wait_raises_what_the_thread_raised(tmp_path: Path) -> None:
    from vibe_backtest.api import load_market

    market = load_market(symbols=["AAPL"], end="2024-05-10")
    writer = results.write_bars_csv_meanwhile(tmp_path / "missing", market)
    with pytest.raises(FileNotFoundError):
        writer.wait()
    ok = results.write_bars_csv_meanwhile(tmp_path, market)
    ok.wait()
    assert (tmp_path / "bars.csv").read_text().startswith("time,symbol,open,high,low,close,volume\n")


def test_bad_data_is_still_reported_before_any_thread_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--quiet", "--symbols", "NOPE", "--out", str(tmp_path / "o")]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [] and not _writers()
