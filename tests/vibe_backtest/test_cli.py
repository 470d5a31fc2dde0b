"""``vibe-backtest`` run / sample / sweep: files, columns, ISO times, overrides, exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vibe_backtest.api import load_market
from vibe_backtest.cli import main

SMALL = ["--symbols", "AAPL,MSFT", "--end", "2024-05-31"]
RUN_FILES = {
    "trades.csv",
    "orders.csv",
    "fills.csv",
    "equity.csv",
    "signals.csv",
    "gaps.csv",
    "summary.json",
    "config.json",
    "report.html",
    "bars.csv",
}
TRADES_HEADER = "symbol,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,exit_reason"
SUMMARY_KEYS = {
    "initial_capital",
    "final_equity",
    "total_return",
    "n_trades",
    "win_rate",
    "profit_factor",
    "sharpe",
    "sortino",
    "max_drawdown",
    "avg_trade_minutes",
    "exposure",
    "bars_processed",
    "wall_seconds",
}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
NY_OFFSETS = {dt.timedelta(hours=-4), dt.timedelta(hours=-5)}


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


def run_ok(*argv: str) -> None:
    assert main(list(argv)) == 0


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def iso_time(text: str) -> dt.datetime:
    assert ISO.match(text), f"{text!r} is not ISO-8601 with an offset"
    t = dt.datetime.fromisoformat(text)
    assert t.utcoffset() in NY_OFFSETS, text
    return t


def without_wall(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if k != "wall_seconds"}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    run_ok("run", "--quiet", *SMALL, "--out", str(out))
    return out


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "data"
    run_ok("sample", "--out", str(out))
    return out


# --- run: the files -----------------------------------------------------------------------------


def test_run_writes_every_file(small_run: Path) -> None:
    assert {p.name for p in small_run.iterdir()} == RUN_FILES
    html = (small_run / "report.html").read_text()
    assert "<html" in html.lower() and "AAPL" in html


def test_trades_csv_has_exactly_the_contract_columns(small_run: Path) -> None:
    assert (small_run / "trades.csv").read_text().splitlines()[0] == TRADES_HEADER
    _, rows = read_csv(small_run / "trades.csv")
    assert len(rows) == summary(small_run)["n_trades"] > 0
    for row in rows:
        entry, exit_ = iso_time(row["entry_time"]), iso_time(row["exit_time"])
        assert entry < exit_ and entry.date() == exit_.date()
        assert row["symbol"] in {"AAPL", "MSFT"} and row["side"] in {"buy", "sell"}
        assert row["exit_reason"] in {"target", "stop", "eod", "halt", "close_all"}
        assert dt.date(2024, 5, 1) <= entry.date() <= dt.date(2024, 5, 31)
        qty, pnl = int(row["qty"]), float(row["pnl"])
        sign = 1 if row["side"] == "buy" else -1
        move = float(row["exit_price"]) - float(row["entry_price"])
        assert pnl == pytest.approx(sign * qty * move)  # the default preset charges no fees


def test_equity_csv_is_time_cash_equity_once_per_instant(small_run: Path) -> None:
    header, rows = read_csv(small_run / "equity.csv")
    assert header == ["time", "cash", "equity"]
    times = [iso_time(r["time"]) for r in rows]
    assert all(a < b for a, b in itertools.pairwise(times))
    s = summary(small_run)
    assert float(rows[-1]["equity"]) == pytest.approx(s["final_equity"])
    assert times[0].date() == dt.date(2024, 5, 1) and times[-1].date() == dt.date(2024, 5, 31)
    equity = np.array([s["initial_capital"]] + [float(r["equity"]) for r in rows])
    peaks = np.maximum.accumulate(equity)
    assert s["max_drawdown"] == pytest.approx(np.max((peaks - equity) / peaks))


def test_signals_csv_has_every_signal_with_verdict_and_reasons(small_run: Path) -> None:
    header, rows = read_csv(small_run / "signals.csv")
    assert {"time", "symbol", "side", "accepted", "reasons"} <= set(header)
    s = summary(small_run)
    assert len(rows) == s["signals"]
    accepted = [r for r in rows if r["accepted"] == "True"]
    rejected = [r for r in rows if r["accepted"] == "False"]
    assert len(accepted) + len(rejected) == len(rows)
    assert len(accepted) == s["signals_accepted"]
    assert rejected and all(r["reasons"] for r in rejected)
    for r in rows:
        iso_time(r["time"])
    # every trade was entered on an accepted signal of its symbol and day
    _, trades = read_csv(small_run / "trades.csv")
    for t in trades:
        entry = iso_time(t["entry_time"])
        assert any(
            r["symbol"] == t["symbol"] and iso_time(r["time"]).date() == entry.date() for r in accepted
        ), t


def test_orders_and_fills_use_iso_times(small_run: Path) -> None:
    for name in ("orders.csv", "fills.csv"):
        header, rows = read_csv(small_run / name)
        assert header[0] == "time" and rows
        for r in rows:
            iso_time(r["time"])


def test_summary_json_has_the_contract_keys(small_run: Path) -> None:
    s = summary(small_run)
    assert set(s) >= SUMMARY_KEYS
    _, trades = read_csv(small_run / "trades.csv")
    pnl = np.array([float(t["pnl"]) for t in trades])
    assert s["initial_capital"] == 10_000.0
    assert s["win_rate"] == pytest.approx(np.mean(pnl > 0))
    assert s["total_return"] == pytest.approx(s["final_equity"] / s["initial_capital"] - 1)
    minutes = [(iso_time(t["exit_time"]) - iso_time(t["entry_time"])).total_seconds() / 60 for t in trades]
    assert s["avg_trade_minutes"] == pytest.approx(np.mean(minutes))
    assert 0.0 <= s["exposure"] <= 1.0
    assert s["wall_seconds"] > 0
    market = load_market(source="sample", symbols=["AAPL", "MSFT"], end="2024-05-31")
    assert s["bars_processed"] == sum(len(v) for v in market.values())
    for key in ("sharpe", "sortino", "profit_factor"):
        assert s[key] is None or isinstance(s[key], float)


def test_config_json_is_the_effective_config(small_run: Path) -> None:
    cfg = json.loads((small_run / "config.json").read_text())
    assert cfg["symbols"] == ["AAPL", "MSFT"]
    assert cfg["exchange"]["preset"] == "base"
    assert cfg["validation"]["enabled"] is True
    assert cfg["strategy"]["reward_risk"] == 2.0


def test_run_prints_a_summary_unless_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    run_ok("run", "--no-report", "--symbols", "MSFT", "--end", "2024-05-03", "--out", str(out))
    printed = capsys.readouterr().out
    assert "final equity" in printed and str(out) in printed
    assert not (out / "report.html").exists()
    run_ok("run", "--quiet", "--no-report", "--symbols", "MSFT", "--end", "2024-05-03", "--out", str(out))
    assert capsys.readouterr().out == ""


def test_run_without_out_writes_under_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_ok("run", "--quiet", "--no-report", "--symbols", "MSFT", "--end", "2024-05-02")
    (made,) = (tmp_path / "results").iterdir()
    assert re.fullmatch(r"\d{8}-\d{6}", made.name)
    assert (made / "trades.csv").exists() and (made / "summary.json").exists()


# --- run: overrides and restrictions --------------------------------------------------------------


def test_set_overrides_change_config_json_and_results(small_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_ok(
        "run", "--quiet", "--no-report", *SMALL,
        "--set", "exchange.preset=optimistic", "--set", "validation.enabled=false",
        "--out", str(out),
    )  # fmt: skip
    base_cfg = json.loads((small_run / "config.json").read_text())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["exchange"]["preset"] == "optimistic" and cfg["validation"]["enabled"] is False
    base_cfg["exchange"]["preset"], base_cfg["validation"]["enabled"] = "optimistic", False
    assert cfg == base_cfg  # nothing else changed

    # validation off: no signal is vetoed by the multi-timeframe rules any more
    _, base_signals = read_csv(small_run / "signals.csv")
    _, signals = read_csv(out / "signals.csv")
    assert any(r["accepted"] == "False" and r["vetoes"] for r in base_signals)
    assert not any(r["vetoes"] for r in signals)
    assert summary(out)["signals_accepted"] > summary(small_run)["signals_accepted"]
    # optimistic: every fill at its reference price; the base preset slips
    _, base_fills = read_csv(small_run / "fills.csv")
    _, fills = read_csv(out / "fills.csv")
    assert any(float(f["price"]) != float(f["ref_price"]) for f in base_fills)
    assert fills and all(float(f["price"]) == float(f["ref_price"]) for f in fills)
    assert summary(out)["final_equity"] != summary(small_run)["final_equity"]


def test_config_file_and_set_layer(small_run: Path, tmp_path: Path) -> None:
    config = tmp_path / "vibe.yaml"
    config.write_text(
        "strategy:\n  reward_risk: 3\n  last_entry_time: 14:00\nexchange:\n  preset: pessimistic\n"
    )
    out = tmp_path / "out"
    run_ok(
        "run", "--quiet", "--no-report", *SMALL, "--config", str(config),
        "--set", "exchange.preset=optimistic", "--out", str(out),
    )  # fmt: skip
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["strategy"]["reward_risk"] == 3.0
    assert cfg["strategy"]["last_entry_time"] == "14:00"
    assert cfg["exchange"]["preset"] == "optimistic"
    _, signals = read_csv(out / "signals.csv")
    for r in signals:
        price, stop, target = float(r["price"]), float(r["stop"]), float(r["target"])
        assert abs(target - price) == pytest.approx(3 * abs(price - stop), abs=0.011)
        assert iso_time(r["time"]).time() <= dt.time(14, 0)


def test_environment_layer_sits_between_file_and_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBE__STRATEGY__REWARD_RISK", "3")
    monkeypatch.setenv("VIBE__STRATEGY__OPENING_RANGE_MINUTES", "30")
    config = tmp_path / "vibe.yaml"
    config.write_text("strategy:\n  reward_risk: 1.5\n  opening_range_minutes: 10\n  max_trades_per_day: 2\n")
    out = tmp_path / "out"
    run_ok(
        "run", "--quiet", "--no-report", "--symbols", "MSFT", "--end", "2024-05-02",
        "--config", str(config), "--set", "strategy.opening_range_minutes=20", "--out", str(out),
    )  # fmt: skip
    strategy = json.loads((out / "config.json").read_text())["strategy"]
    assert strategy["reward_risk"] == 3.0  # env over file
    assert strategy["opening_range_minutes"] == 20  # --set over env
    assert strategy["max_trades_per_day"] == 2  # file over defaults


def test_symbols_start_end_restrict_the_data(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_ok(
        "run", "--quiet", "--no-report", "--symbols", "msft,TSLA",
        "--start", "2024-05-13", "--end", "2024-05-17", "--out", str(out),
    )  # fmt: skip
    s = summary(out)
    assert s["symbols"] == ["MSFT", "TSLA"]
    assert (s["start"], s["end"], s["sessions"]) == ("2024-05-13", "2024-05-17", 5)
    assert s["bars_processed"] == 2 * 5 * 78  # two symbols, five full sessions of 5m bars
    _, equity = read_csv(out / "equity.csv")
    days = {iso_time(r["time"]).date() for r in equity}
    assert days == {dt.date(2024, 5, d) for d in range(13, 18)}
    for name, column in (("trades.csv", "symbol"), ("signals.csv", "symbol"), ("fills.csv", "symbol")):
        _, rows = read_csv(out / name)
        assert {r[column] for r in rows} <= {"MSFT", "TSLA"}
    _, signals = read_csv(out / "signals.csv")
    assert signals and all(dt.date(2024, 5, 13) <= iso_time(r["time"]).date() for r in signals)
    assert json.loads((out / "config.json").read_text())["symbols"] == ["MSFT", "TSLA"]


# --- sample and --data ----------------------------------------------------------------------------


def test_sample_writes_one_file_per_symbol(sample_dir: Path) -> None:
    names = sorted(p.name for p in sample_dir.iterdir())
    assert names == sorted(f"{s}.csv" for s in ("AAPL", "MSFT", "AMZN", "TSLA", "GOOGL"))
    header = (sample_dir / "AAPL.csv").read_text().splitlines()[0].lower().split(",")
    assert {"open", "high", "low", "close", "volume"} <= set(header)


def test_data_dir_from_sample_gives_the_builtin_sample_results(sample_dir: Path, tmp_path: Path) -> None:
    builtin, files = tmp_path / "builtin", tmp_path / "files"
    run_ok("run", "--quiet", "--no-report", "--out", str(builtin))
    run_ok("run", "--quiet", "--no-report", "--data", str(sample_dir), "--out", str(files))
    trades = (builtin / "trades.csv").read_text().splitlines()
    assert len(trades) > 10
    # the same trades; rows closed at the same instant may be listed in another order, since the
    # built-in sample lists its symbols in MVP order and a directory in file-name order
    assert sorted((files / "trades.csv").read_text().splitlines()) == sorted(trades)
    assert (files / "equity.csv").read_text() == (builtin / "equity.csv").read_text()
    a, b = without_wall(summary(files)), without_wall(summary(builtin))
    assert sorted(a.pop("symbols")) == sorted(b.pop("symbols"))
    assert a == b


def test_data_dir_and_builtin_sample_agree_row_for_row_in_the_same_symbol_order(
    sample_dir: Path, tmp_path: Path
) -> None:
    builtin, files = tmp_path / "builtin", tmp_path / "files"
    args = ["--quiet", "--no-report", "--symbols", "TSLA,AAPL,GOOGL", "--start", "2024-06-03"]
    run_ok("run", *args, "--out", str(builtin))
    run_ok("run", *args, "--data", str(sample_dir), "--out", str(files))
    for name in ("trades.csv", "orders.csv", "fills.csv", "equity.csv"):
        assert (files / name).read_text() == (builtin / name).read_text(), name
    assert summary(files)["n_trades"] > 0
    assert without_wall(summary(files)) == without_wall(summary(builtin))


def test_parquet_sample_gives_the_same_trades(tmp_path: Path) -> None:
    data = tmp_path / "pq"
    run_ok("sample", "--out", str(data), "--format", "parquet")
    assert (data / "TSLA.parquet").exists()
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--symbols", "TSLA", "--end", "2024-05-31", "--quiet", "--no-report"]
    run_ok("run", *args, "--data", str(data), "--out", str(a))
    run_ok("run", *args, "--source", "sample", "--out", str(b))
    assert (a / "trades.csv").read_text() == (b / "trades.csv").read_text()
    assert summary(a)["n_trades"] > 0


# --- bad input: exit code 2 and a message naming the problem --------------------------------------


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vibe-backtest: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--set", "strategy.reward_rsk=2"], ["--set", "strategy.reward_rsk"]),
        (["--set", "strategy.reward_risk=abc"], ["strategy.reward_risk"]),
        (["--set", "validation.enabled=maybe"], ["validation.enabled"]),
        (["--set", "strategy.opening_range_minutes=1.5"], ["opening_range_minutes"]),
        (["--set", "risk.risk_per_trade_pct=2"], ["risk_per_trade_pct"]),
        (["--set", "noequals"], ["noequals"]),
        (["--symbols", "AAPL,ZZZZ"], ["ZZZZ"]),
        (["--start", "2025-01-01"], ["no bars"]),
        (["--start", "2024-06-10", "--end", "2024-06-01"], ["--start 2024-06-10 is after --end 2024-06-01"]),
    ],
)
def test_bad_run_input(
    args: list[str], needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    fails_with(capsys, ["run", "--quiet", *args, "--out", str(out)], *needles)
    assert not out.exists()  # nothing half-written


def test_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    fails_with(capsys, ["run", "--quiet", "--data", str(missing), "--out", str(tmp_path / "o")], str(missing))


def test_unknown_symbol_in_a_data_dir(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "o")
    argv = ["run", "--quiet", "--data", str(sample_dir), "--symbols", "AAPL,ZZZZ", "--out", out]
    fails_with(capsys, argv, "ZZZZ", str(sample_dir))


def test_nan_row_names_the_file_and_row(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    path = data / "MSFT.csv"
    lines = path.read_text().splitlines()
    header = lines[0].lower().split(",")
    row = 40  # 1-based data row, line 41 of the file
    cells = lines[row].split(",")
    cells[header.index("close")] = "NaN"
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    err = fails_with(capsys, ["run", "--quiet", "--data", str(data), "--out", str(tmp_path / "o")], str(path))
    assert re.search(rf"\brow {row}\b", err), err
    assert "close" in err and "NaN" in err


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("strategy: [1, 2\n", ["not valid YAML"]),
        ("strategy:\n  reward_rsk: 2\n", ["strategy.reward_rsk"]),
        ("- just\n- a list\n", ["mapping"]),
    ],
)
def test_bad_config_file_names_the_file(
    text: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(text)
    fails_with(
        capsys,
        ["run", "--quiet", "--config", str(config), "--out", str(tmp_path / "o")],
        str(config),
        *needles,
    )


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "absent.yaml"
    fails_with(capsys, ["run", "--quiet", "--config", str(config), "--out", str(tmp_path / "o")], str(config))


def test_environment_errors_name_the_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIBE__STRATEGY__REWARD_RSK", "3")
    fails_with(capsys, ["run", "--quiet", "--out", str(tmp_path / "o")], "environment", "strategy.reward_rsk")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--start", "2024-13-01"], "--start"),
        (["run", "--end", "May 1"], "--end"),
        (["run", "--data", "x", "--source", "sample"], "--source"),
        (["run", "--source", "nasdaq"], "--source"),
        (["frobnicate"], "frobnicate"),
        (["sweep", "--workers", "two", "--grid", "seed=1,2"], "--workers"),
    ],
)
def test_argument_errors_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert needle in capsys.readouterr().err


def test_an_internal_error_exits_1_with_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vibe_backtest.api

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(vibe_backtest.api, "run_backtest", broken)
    assert main(["run", "--quiet", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "boom in the engine" in err and "internal error" in err
    assert list(tmp_path.iterdir()) == []  # (no results folder, no partial one)


# --- sweep ----------------------------------------------------------------------------------------

SWEEP_WINDOW = ["--symbols", "AAPL,MSFT", "--end", "2024-05-24"]


def test_sweep_runs_every_combination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    run_ok(
        "sweep", *SWEEP_WINDOW, "--workers", "2", "--backend", "pool",  # Dask: test_sweep_backends.py
        "--grid", "strategy.reward_risk=1.5,3", "--grid", "strategy.opening_range_minutes=15,30",
        "--out", str(out),
    )  # fmt: skip
    assert "4 combinations" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"sweep.csv", "sweep.html"}
    assert "<html" in (out / "sweep.html").read_text().lower()
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:2]) == ["strategy.reward_risk", "strategy.opening_range_minutes"]
    # timings measure the machine, not the run: left out so two identical sweeps give one file
    assert set(table.columns) >= (SUMMARY_KEYS - {"wall_seconds"}) | {"error"}
    assert "wall_seconds" not in table.columns and table["error"].isna().all()
    combos = sorted(zip(table["strategy.reward_risk"], table["strategy.opening_range_minutes"], strict=True))
    assert combos == [(1.5, 15), (1.5, 30), (3.0, 15), (3.0, 30)]
    # each row is the summary of the same run made on its own with --set
    for i, row in table.iterrows():
        single = tmp_path / f"single-{i}"
        run_ok(
            "run", "--quiet", "--no-report", *SWEEP_WINDOW,
            "--set", f"strategy.reward_risk={row['strategy.reward_risk']}",
            "--set", f"strategy.opening_range_minutes={row['strategy.opening_range_minutes']}",
            "--out", str(single),
        )  # fmt: skip
        s = summary(single)
        for key in ("n_trades", "signals", "signals_accepted", "bars_processed", "sessions"):
            assert row[key] == s[key], (key, row[key], s[key])
        for key in ("final_equity", "total_return", "max_drawdown", "exposure"):
            assert row[key] == pytest.approx(s[key]), key
    assert table["final_equity"].nunique() > 1  # the grid keys really reach the runs


def test_sweep_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    fails_with(capsys, ["sweep", "--out", str(out)], "--grid")
    fails_with(
        capsys, ["sweep", "--grid", "strategy.reward_rsk=1,2", "--out", str(out)], "strategy.reward_rsk"
    )
    fails_with(capsys, ["sweep", "--grid", "strategy.reward_risk=1,abc", "--out", str(out)], "reward_risk")
    fails_with(capsys, ["sweep", "--grid", "seed=1,2", "--symbols", "ZZZZ", "--out", str(out)], "ZZZZ")
    assert not out.exists()


# --- the installed console entry ------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VIBE__")}


def test_console_entry_runs_and_exits_0(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("vibe-backtest")
    assert exe.exists(), f"{exe}: the console entry point is not installed"
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(exe), "run", "--no-report", "--symbols", "MSFT", "--end", "2024-05-10", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "final equity" in proc.stdout
    assert (out / "trades.csv").read_text().splitlines()[0] == TRADES_HEADER
    assert summary(out)["symbols"] == ["MSFT"]


def test_module_entry_exits_2_on_bad_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vibe_backtest.cli", "run", "--set", "strategy.nope=1", "--out", "o"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.returncode == 2
    assert "strategy.nope" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()
