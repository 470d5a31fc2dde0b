"""Walk-forward: the windows (properties), the choice of the best cell, the stitched curve, and the
command end to end, checked against plain ``run`` backtests of the same sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vibe_backtest.cli import main
from vibe_backtest.walkforward import make_windows, pick_best, stitch
from vibe_core.config import Config


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


window_args = st.tuples(
    st.integers(1, 200),  # sessions
    st.integers(1, 40),  # train
    st.integers(1, 20),  # test
    st.integers(0, 20),  # step - test
    st.booleans(),  # anchored
)


@given(window_args, st.integers(0, 30))
def test_no_test_session_is_ever_trained_on_and_each_is_tested_once(
    args: tuple[int, int, int, int, bool], warmup: int
) -> None:
    n, train, test, extra, anchored = args
    step = test + extra
    if n < train + test:
        with pytest.raises(ValueError, match="fewer than --train"):
            make_windows(n, train, test, step, anchored=anchored, warmup=warmup)
        return
    windows = make_windows(n, train, test, step, anchored=anchored, warmup=warmup)
    tested: list[int] = []
    for k, w in enumerate(windows):
        train_set = set(range(*w.train))
        test_set = set(range(*w.test))
        assert w.index == k
        assert not train_set & test_set  # no test session in its training set
        assert max(train_set) < min(test_set)  # training is strictly before testing
        assert w.test[0] == w.train[1]  # tested right after training
        assert len(test_set) == test and w.test[1] <= n
        assert len(train_set) == (w.train[1] if anchored else train)
        if anchored:
            assert w.train[0] == 0
        # the warm-up sessions (no P&L counted) come right before the test, never inside it
        assert w.warm[1] == w.test[0] and w.warm[1] - w.warm[0] == min(warmup, w.test[0])
        tested += sorted(test_set)
    assert len(tested) == len(set(tested))  # each session tested at most once
    assert tested == sorted(tested)
    # and no full test window was left out at the end
    assert windows[-1].test[1] + step > n


@given(window_args)
def test_the_stitched_curve_uses_each_session_once(args: tuple[int, int, int, int, bool]) -> None:
    n, train, test, extra, anchored = args
    if n < train + test:
        return
    sessions = [f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(n)]
    windows = make_windows(n, train, test, test + extra, anchored=anchored)
    curves = [(w.index, [(sessions[i], 100.0 + i) for i in range(*w.test)]) for w in windows]
    frame = stitch(curves)
    assert frame["date"].is_unique and frame["date"].is_monotonic_increasing
    assert set(frame["date"]) == {sessions[i] for w in windows for i in range(*w.test)}


def test_overlapping_test_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="--step 5 is shorter than --test 10"):
        make_windows(100, 20, 10, 5)
    with pytest.raises(ValueError, match="overlap"):
        stitch([(0, [("2024-05-01", 1.0), ("2024-05-02", 1.0)]), (1, [("2024-05-02", 1.0)])])


def test_pick_best_skips_missing_values_and_keeps_grid_order_on_ties() -> None:
    assert pick_best([1.0, None, 3.0, float("nan"), 3.0]) == 2
    assert pick_best([1.0, 0.5, 0.5], lower_is_better=True) == 1
    assert pick_best([None, float("nan")]) is None


def _run(tmp_path: Path, name: str, *args: str) -> dict[str, object]:
    out = tmp_path / name
    assert main(["run", "--quiet", "--no-report", *args, "--out", str(out)]) == 0
    return json.loads((out / "summary.json").read_text())


def test_walkforward_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data: list[str] = []  # the sample market: 60 sessions, 5 symbols -> 4 windows of 20 + 10
    out = tmp_path / "wf"
    code = main(
        ["walkforward", *data, "--backend", "pool", "--workers", "2", "--train", "20", "--test", "10",
         "--grid", "strategy.reward_risk=1.5,3", "--grid", "strategy.opening_range_minutes=5,15",
         "--metric", "total_return", "--warmup", "0", "--out", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {
        "walkforward.csv",
        "walkforward-equity.csv",
        "walkforward.html",
    }
    table = pd.read_csv(out / "walkforward.csv")
    equity = pd.read_csv(out / "walkforward-equity.csv")
    assert table["window"].tolist() == [0, 1, 2, 3]
    assert (table["test_from"] > table["train_to"]).all()
    assert table["start_equity"].iloc[0] == 10_000
    assert table["start_equity"].iloc[1:].tolist() == table["end_equity"].iloc[:-1].tolist()
    assert equity["date"].is_unique and len(equity) == 40
    assert table["oos_trades"].sum() > 0 and table["is_total_return"].nunique() > 1
    assert equity["equity"].iloc[-1] == pytest.approx(table["end_equity"].iloc[-1])
    first = table.iloc[0]
    cells = {
        (rr, orm): _run(
            tmp_path, f"is-{rr}-{orm}", *data, "--start", first["train_from"], "--end", first["train_to"],
            "--set", f"strategy.reward_risk={rr}", "--set", f"strategy.opening_range_minutes={orm}",
        )["total_return"]
        for rr in (1.5, 3) for orm in (5, 15)
    }  # fmt: skip
    chosen = (first["strategy.reward_risk"], first["strategy.opening_range_minutes"])
    assert cells[chosen] == pytest.approx(first["is_total_return"])
    assert first["is_total_return"] == pytest.approx(max(cells.values()))  # the best cell was chosen
    # out of sample: a plain backtest of the test sessions, from the equity the last window ended with
    second = table[table["start_equity"] != 10_000].iloc[0]
    oos = _run(
        tmp_path, "oos", "--start", second["test_from"], "--end", second["test_to"],
        "--set", f"strategy.reward_risk={second['strategy.reward_risk']}",
        "--set", f"strategy.opening_range_minutes={second['strategy.opening_range_minutes']}",
        "--set", f"initial_capital={float(second['start_equity'])!r}",
    )  # fmt: skip
    assert oos["total_return"] == pytest.approx(second["oos_total_return"])
    assert oos["final_equity"] == pytest.approx(second["end_equity"])
    html = (out / "walkforward.html").read_text()
    assert 'id="walkforward-equity"' in html and 'id="walkforward-table"' in html


def test_a_warm_test_window_trades_from_its_first_session(tmp_path: Path) -> None:
    """Cold, the validation rules veto every signal of the first sessions (indicators warming up);
    warmed on the sessions before, the window trades as a continuous run does, from its capital."""
    from vibe_backtest.api import load_market
    from vibe_backtest.walkforward import run_window
    from vibe_core.config import config_to_dict

    market = load_market()
    config = config_to_dict(Config(initial_capital=12_345.0))
    cold = run_window(market, (config, None, "2024-05-30", "2024-06-12"))
    warm = run_window(market, (config, "2024-05-22", "2024-05-30", "2024-06-12"))
    assert cold["n_trades"] < warm["n_trades"]
    assert warm["daily"][0][0] == "2024-05-30" and len(warm["daily"]) == 10
    assert warm["initial_capital"] == 12_345.0
    whole = _run(tmp_path, "whole", "--set", "initial_capital=12345.0")  # the continuous run
    trades = pd.read_csv(tmp_path / "whole" / "trades.csv")
    inside = trades[(trades["entry_time"] >= "2024-05-30") & (trades["entry_time"] < "2024-06-13")]
    assert warm["n_trades"] == len(inside)
    assert whole["n_trades"] > len(inside)


def test_walkforward_warms_up_before_each_window_by_default(tmp_path: Path) -> None:
    out = tmp_path / "wf"
    args = ["walkforward", "--grid", "seed=7", "--train", "20", "--test", "10", "--backend", "pool"]
    assert main([*args, "--workers", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "walkforward.csv")
    sessions = pd.read_csv(out / "walkforward-equity.csv")["date"].tolist()
    assert len(sessions) == 40
    # five sessions before each test window (they are training sessions: the past)
    assert table["warmup_from"].tolist() == ["2024-05-22", "2024-06-06", "2024-06-21", "2024-07-08"]
    assert table["oos_trades"].iloc[0] > 0  # warmed: the first sessions are not all vetoed


def test_walkforward_bad_windows_are_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["walkforward", "--symbols", "AAPL", "--end", "2024-05-10", "--grid", "seed=1,2"]
    assert main([*base, "--train", "5", "--test", "4", "--step", "2", "--out", str(tmp_path / "a")]) == 2
    assert "--step 2 is shorter than --test 4" in capsys.readouterr().err
    assert main([*base, "--train", "50", "--test", "20", "--out", str(tmp_path / "b")]) == 2
    assert "fewer than --train 50 + --test 20" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
