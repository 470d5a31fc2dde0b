"""The notebook entry points (vibe_backtest.api): run_backtest returns frames, load_market restricts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from vibe_backtest import BacktestResult, DataError, run_backtest
from vibe_backtest.api import calendar, load_market
from vibe_backtest.results import TRADE_COLUMNS
from vibe_backtest.sample import sample_market
from vibe_core.config import Config, ConfigError, config_from_dict

NY = ZoneInfo("America/New_York")
SYMBOLS = ["AAPL", "MSFT"]
END = "2024-05-31"
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


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return run_backtest(symbols=SYMBOLS, end=END)


def test_run_backtest_returns_frames_with_aware_times(result: BacktestResult) -> None:
    trades = result.trades
    assert isinstance(trades, pd.DataFrame)
    assert list(trades.columns) == TRADE_COLUMNS
    assert len(trades) > 0
    for col in ("entry_time", "exit_time"):
        assert isinstance(trades[col].dtype, pd.DatetimeTZDtype)
        assert str(trades[col].dt.tz) == "America/New_York"
    assert set(trades["symbol"]) <= set(SYMBOLS)
    assert set(trades["side"]) <= {"buy", "sell"}
    assert (trades["exit_time"] > trades["entry_time"]).all()

    equity = result.equity
    assert isinstance(equity.index, pd.DatetimeIndex) and str(equity.index.tz) == "America/New_York"
    assert {"cash", "equity"} <= set(equity.columns)
    assert equity.index.is_monotonic_increasing and equity.index.is_unique

    signals = result.signals
    assert {"time", "symbol", "side", "accepted", "reasons"} <= set(signals.columns)
    assert signals["accepted"].dtype == bool
    assert isinstance(result.summary, dict)
    assert set(result.summary) >= SUMMARY_KEYS


def test_summary_agrees_with_the_frames(result: BacktestResult) -> None:
    s, trades, equity = result.summary, result.trades, result.equity
    pnl = trades["pnl"].to_numpy()
    assert s["initial_capital"] == Config().initial_capital
    assert s["n_trades"] == len(trades)
    assert s["win_rate"] == pytest.approx(np.mean(pnl > 0))
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    if losses > 0:
        assert s["profit_factor"] == pytest.approx(wins / losses)
    assert s["final_equity"] == pytest.approx(equity["equity"].iloc[-1])
    assert s["total_return"] == pytest.approx(s["final_equity"] / s["initial_capital"] - 1)
    minutes = (trades["exit_time"] - trades["entry_time"]).dt.total_seconds() / 60
    assert s["avg_trade_minutes"] == pytest.approx(minutes.mean())
    assert s["exposure"] == pytest.approx(equity["exposed"].mean())
    values = np.concatenate([[s["initial_capital"]], equity["equity"].to_numpy()])
    peaks = np.maximum.accumulate(values)
    assert s["max_drawdown"] == pytest.approx(np.max((peaks - values) / peaks))
    assert s["signals"] == len(result.signals)
    assert s["signals_accepted"] == int(result.signals["accepted"].sum())
    assert s["symbols"] == SYMBOLS
    assert s["start"] == "2024-05-01" and s["end"] == END
    table = calendar()
    days = [d.date for d in table.sessions if dt.date(2024, 5, 1) <= d.date <= dt.date.fromisoformat(END)]
    assert s["sessions"] == len(days)
    assert s["bars_processed"] == sum(
        len(v) for v in load_market(source="sample", symbols=SYMBOLS, end=END).values()
    )
    # with no fees the book ends flat at capital + the trades' P&L
    assert s["final_equity"] == pytest.approx(s["initial_capital"] + pnl.sum())


def test_every_trade_comes_from_an_accepted_signal(result: BacktestResult) -> None:
    signals = result.signals[result.signals["accepted"]]
    trades = result.trades
    for symbol, entry in zip(trades["symbol"], trades["entry_time"], strict=True):
        same = signals[
            (signals["symbol"] == symbol)
            & (signals["time"].dt.date == pd.Timestamp(entry).date())
            & (signals["time"] <= entry)
        ]
        assert len(same) == 1, (symbol, entry)
    rejected = result.signals[~result.signals["accepted"]]
    assert len(rejected) > 0
    assert (rejected["reasons"].str.len() > 0).all()


def test_report_writes_a_self_contained_html_file(result: BacktestResult, tmp_path: Path) -> None:
    path = result.report(tmp_path / "sub" / "report.html")
    assert Path(path) == tmp_path / "sub" / "report.html"
    html = Path(path).read_text()
    assert html.lstrip().lower().startswith(("<!doctype html", "<html"))
    for sym in SYMBOLS:
        assert sym in html
    assert "<script src=" not in html.lower()  # no external scripts


def test_config_can_be_a_mapping_or_a_config() -> None:
    data = {"exchange": {"preset": "optimistic"}, "validation": {"enabled": False}}
    from_mapping = run_backtest(symbols=["MSFT"], end="2024-05-10", config=data, keep_bars=False)
    from_config = run_backtest(symbols=["MSFT"], end="2024-05-10", config=config_from_dict(data))
    assert from_mapping.config.exchange.preset == "optimistic"
    assert from_mapping.config.symbols == ("MSFT",)  # the config follows the data's symbols
    pd.testing.assert_frame_equal(from_mapping.trades, from_config.trades)
    assert from_mapping.bars == {}
    assert set(from_config.bars) == {"MSFT"}
    assert not from_config.bars["MSFT"].empty
    with pytest.raises(ConfigError, match="reward_rsk"):
        run_backtest(symbols=["MSFT"], end="2024-05-10", config={"strategy": {"reward_rsk": 2}})


def test_a_mapping_of_bars_gives_the_same_run_as_the_sample_source(result: BacktestResult) -> None:
    market = sample_market(SYMBOLS, sessions=calendar())
    before = {s: v.close.copy() for s, v in market.items()}
    again = run_backtest(market, end=END, keep_bars=False)
    pd.testing.assert_frame_equal(again.trades, result.trades)
    pd.testing.assert_frame_equal(again.equity, result.equity)
    pd.testing.assert_frame_equal(again.fills, result.fills)
    assert {k: v for k, v in again.summary.items() if k != "wall_seconds"} == {
        k: v for k, v in result.summary.items() if k != "wall_seconds"
    }
    for s, close in before.items():
        assert np.array_equal(market[s].close, close)  # inputs unmodified


def test_load_market_restricts_symbols_and_new_york_dates() -> None:
    market = load_market(source="sample", symbols=["tsla", "AAPL"], start="2024-05-13", end="2024-05-17")
    assert list(market) == ["TSLA", "AAPL"]
    for series in market.values():
        days = {dt.datetime.fromtimestamp(t / 1e9, tz=NY).date() for t in series.ts.tolist()}
        assert days == {dt.date(2024, 5, d) for d in range(13, 18)}
        assert len(series) == 5 * 78  # five full sessions of 5m bars
    full = load_market(source="sample", symbols=["AAPL"])
    assert len(full["AAPL"]) > len(market["AAPL"])
    assert len(load_market(symbols=None)) == 5  # the MVP symbols


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "somewhere", "source": "sample"}, "either data or source"),
        ({"symbols": ["ZZZZ"]}, "ZZZZ"),
        ({"start": "2025-01-01"}, "no bars"),
        ({"start": "2024-06-10", "end": "2024-06-01"}, "start 2024-06-10 is after end 2024-06-01"),
        ({"start": "2025-01-01", "end": "2025-01-31"}, "no bars .* data covers 2024-05-01 to 2024-07-26"),
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"source": "nasdaq"}, "nasdaq"),
    ],
)
def test_load_market_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_market(**kwargs)  # type: ignore[arg-type]


def test_a_multi_strategy_run_tags_every_row_with_its_strategy(tmp_path) -> None:
    config = {
        "strategy": {
            "name": "multi",
            "strategies": [
                {"name": "orb", "symbols": ["AAPL", "MSFT", "AMZN"]},
                {"name": "ema_pullback", "symbols": ["TSLA", "GOOGL"]},
            ],
        },
        "validation": {"enabled": False},
    }
    result = run_backtest(config=config)
    owner = {"AAPL": "orb", "MSFT": "orb", "AMZN": "orb", "TSLA": "ema_pullback", "GOOGL": "ema_pullback"}
    for frame in (result.trades, result.signals, result.orders, result.fills):
        assert frame.columns[-1] == "strategy" and len(frame)
        assert (frame["strategy"] == frame["symbol"].map(owner)).all()
    assert set(result.trades["strategy"]) == {"orb", "ema_pullback"}
    single = run_backtest(symbols=SYMBOLS, end=END)
    assert "strategy" not in single.trades.columns
