"""The API's rows as the dashboard's tables (pure functions; no browser)."""

from __future__ import annotations

from vibe_panel import frames
from vibe_panel.cli import main as panel_main


def test_times_are_new_york_wall_time():
    assert frames.ny_time("2024-07-26T14:14:59Z") == "2024-07-26 10:14:59"  # EDT
    assert frames.ny_time("2024-01-05T15:00:00Z") == "2024-01-05 10:00:00"  # EST
    assert frames.ny_time(None) == ""


def test_tables_keep_their_columns_and_round_money_to_the_cent():
    empty = frames.trades_frame([])
    assert list(empty.columns) == list(frames.TRADE_COLUMNS) and empty.empty
    row = {"symbol": "AAPL", "pnl": 12.3456, "exit_time": "2024-07-26T14:14:59Z", "extra": 1}
    trades = frames.trades_frame([row])
    assert trades.loc[0, "pnl"] == 12.35 and trades.loc[0, "exit_time"] == "2024-07-26 10:14:59"
    assert "extra" not in trades


def test_signals_show_vetoes_and_reasons_joined():
    signal = {"symbol": "MSFT", "verdict": "vetoed", "vetoes": ["volume 0.21x < 1.50x"],
              "reasons": ["trend ok", "volume 0.21x < 1.50x"]}  # fmt: skip
    frame = frames.signals_frame([signal])
    assert frame.loc[0, "vetoes"] == "volume 0.21x < 1.50x"
    assert frame.loc[0, "reasons"] == "trend ok; volume 0.21x < 1.50x"


def test_flat_positions_are_not_listed_and_health_is_one_row_a_symbol():
    rows = [{"symbol": "AAPL", "qty": 0}, {"symbol": "MSFT", "qty": -5}]
    assert list(frames.positions_frame(rows)["symbol"]) == ["MSFT"]
    health = {"feed": {"last_print_age_seconds": {"MSFT": 2.04, "AAPL": 0.31}}}
    assert frames.health_frame(health).values.tolist() == [["AAPL", 0.3], ["MSFT", 2.0]]


def test_drawdown_is_the_fall_from_the_running_peak():
    rows = [{"time": f"2024-07-26T14:{m:02d}:00Z", "equity": e, "cash": 0, "drawdown": 0}
            for m, e in ((0, 100.0), (5, 110.0), (10, 99.0), (15, 120.0))]  # fmt: skip
    assert frames.equity_frame(rows)["drawdown"].round(3).tolist() == [0.0, 0.0, -0.1, 0.0]


def test_cli_refuses_bad_input_naming_it(tmp_path, capsys):
    assert panel_main(["serve", "--results", str(tmp_path / "missing")]) == 2
    assert "--results" in capsys.readouterr().err
    (tmp_path / "trades.csv").write_text("symbol\n")
    assert panel_main(["serve", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--results" in err and "orders.csv" in err
    assert panel_main(["serve", "--api", "ftp://x"]) == 2
    assert "--api 'ftp://x'" in capsys.readouterr().err
