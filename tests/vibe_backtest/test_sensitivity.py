"""``vibe-backtest sensitivity``: each preset's run matches a plain ``run`` of it, the costs are what the
fills say, and trades one run has and another has not are counted and listed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibe_backtest.cli import main
from vibe_backtest.results import BacktestResult
from vibe_backtest.sensitivity import fill_costs, parse_variants
from vibe_core.config import Config, ConfigError

DATA = ["--symbols", "AAPL,TSLA", "--end", "2024-06-14"]


@pytest.fixture(autouse=True)
def _no_vibe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VIBE__"):
            monkeypatch.delenv(key)


def test_sensitivity_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sens"
    code = main(
        ["sensitivity", *DATA, "--presets", "optimistic,pessimistic",
         "--variant", "late_range:strategy.opening_range_minutes=30", "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "sensitivity.csv",
        "sensitivity-trades.csv",
        "sensitivity.html",
    }
    table = pd.read_csv(out / "sensitivity.csv").set_index("run")
    assert list(table.index) == ["optimistic", "pessimistic", "late_range"]
    assert "slippage_cost" in printed and "pessimistic" in printed
    # the optimistic preset has no slippage, fees or partial fills
    assert table.loc["optimistic", ["slippage_cost", "fee_cost", "partial_fill_cost"]].tolist() == [0, 0, 0]
    # each run is the plain backtest of its config; its costs are what its fills.csv says
    for run, sets in (
        ("pessimistic", ["exchange.preset=pessimistic"]),
        ("optimistic", ["exchange.preset=optimistic"]),
    ):
        single = tmp_path / run
        args = ["run", "--quiet", "--no-report", *DATA, "--out", str(single)]
        assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
        summary = json.loads((single / "summary.json").read_text())
        assert table.loc[run, "total_return"] == pytest.approx(summary["total_return"])
        assert table.loc[run, "n_trades"] == summary["n_trades"]
        fills = pd.read_csv(single / "fills.csv")
        sign = np.where(fills["side"] == "buy", 1.0, -1.0)
        slippage = float((sign * (fills["price"] - fills["ref_price"]) * fills["qty"]).sum())
        assert table.loc[run, "slippage_cost"] == pytest.approx(slippage, abs=1e-6)
        assert table.loc[run, "fee_cost"] == pytest.approx(fills["fee"].sum())
    assert table.loc["pessimistic", "slippage_cost"] > 0 and table.loc["pessimistic", "fee_cost"] > 0
    # the presets trade the same signals; a later opening range trades others
    trades = pd.read_csv(out / "sensitivity-trades.csv").set_index("trade")
    assert len(trades) > 0
    for run in table.index:
        here = trades[run].notna()
        assert table.loc[run, "trades_missing_here"] == int((~here).sum())
        assert table.loc[run, "trades_only_here"] == int(here.sum())  # every listed trade misses somewhere
    assert (trades["optimistic"].notna() == trades["pessimistic"].notna()).all()
    assert "sensitivity-trades" in (out / "sensitivity.html").read_text()


def test_bad_variants_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"LABEL:key\.path=value"):
        parse_variants(["base"], ["exchange.preset=base"])
    with pytest.raises(ConfigError, match="already a preset"):
        parse_variants(["base"], ["base:seed=2"])
    assert main(["sensitivity", *DATA, "--presets", "base,dreamy", "--out", str(tmp_path / "s")]) == 2
    assert "dreamy" in capsys.readouterr().err
    assert (
        main(["sensitivity", *DATA, "--variant", "x:exchange.slipage=1", "--out", str(tmp_path / "s")]) == 2
    )
    assert "exchange.slipage" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def _times(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps)).tz_localize("America/New_York"))


def test_partial_fill_cost_definitions() -> None:
    """An entry of 10 filled 6 (in two pieces, the second 0.50 higher), then cancelled; its trade
    made 2.00 a share: drift 2 x 0.50 = 1.00, the 4 unfilled shares 4 x 2.00 = 8.00 of P&L lost."""
    t0, t1, t2 = "2024-05-01 10:00:00", "2024-05-01 10:01:40", "2024-05-01 11:00:00"
    orders = pd.DataFrame(
        {"time": _times(t0, t1), "id": ["E", "X"], "symbol": ["AAPL", "AAPL"], "side": ["buy", "sell"],
         "qty": [10, 6], "tag": ["entry", "target"], "filled_qty": [6, 6]}
    )  # fmt: skip
    fills = pd.DataFrame(
        {"time": _times(t0, t1, t2), "order_id": ["E", "E", "X"], "symbol": ["AAPL"] * 3,
         "side": ["buy", "buy", "sell"], "qty": [4, 2, 6], "price": [100.02, 100.53, 101.96],
         "ref_price": [100.0, 100.5, 102.0], "fee": [0.0, 0.0, 1.0], "tag": ["entry", "entry", "target"]}
    )  # fmt: skip
    trades = pd.DataFrame(
        {"symbol": ["AAPL"], "side": ["buy"], "qty": [6], "entry_time": _times(t0), "pnl": [12.0]}
    )
    empty = pd.DataFrame()
    result = BacktestResult(Config(), {}, trades, empty, empty, orders, fills)
    costs = fill_costs(result)
    assert costs["slippage_cost"] == pytest.approx(4 * 0.02 + 2 * 0.03 + 6 * 0.04)
    assert costs["fee_cost"] == 1.0
    assert costs["partial_drift"] == pytest.approx(2 * 0.5)
    assert costs["unfilled_value"] == pytest.approx(4 * 2.0)
    assert costs["partial_fill_cost"] == pytest.approx(9.0)
    assert costs["entries_never_filled"] == 0
