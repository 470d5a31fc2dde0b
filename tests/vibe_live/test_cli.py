"""``vibe-live``: exit codes and messages for bad input, live mode without a key, dry runs, JSON logs,
config show, and the export / audit subcommands."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3

import pytest
from tests.vibe_live.live_files import live

from vibe_live.cli import main
from vibe_live.store import Store

SHORT = ["--set", "data.sample_sessions=2", "--set", "features.enable_mtf_validation=false"]


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("VIBE__") or key in ("FINNHUB_API_KEY", "TRADING_ENV", "VIBE_LIVE_KILL_AT"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("VIBE__API__PORT", "0")  # the monitoring API on a free port
    monkeypatch.chdir(tmp_path)


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_live_mode_without_a_key_says_how_to_set_it_and_that_replay_works_offline(capsys, monkeypatch):
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "FINNHUB_API_KEY" in err and "VIBE__DATA__FINNHUB_API_KEY" in err and "--replay sample" in err
    monkeypatch.setenv("FINNHUB_API_KEY", "k")  # with a key it goes live (test_finnhub_*); a bad start
    code, _, err = run(capsys, "run", "--speed", "2")  # is still refused before anything opens
    assert code == 2 and "--speed paces a replay" in err
    assert "k" not in err.replace("key", "").replace("market", "")  # (the key's value is never shown)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay", "nowhere"], "--replay nowhere: no such folder"),
        (["--replay", "sample", "--clock", "feed", "--speed", "2"], "--speed"),
        (["--replay", "sample", "--set", "storage.snapshot_every=0"], "storage.snapshot_every: must be > 0"),
        (["--replay", "sample", "--set", "data.finnhub_api_key=x"], "is a secret"),
    ],
)
def test_bad_options_exit_2_naming_them(capsys, args, message):
    code, _, err = run(capsys, "run", *args)
    assert code == 2
    assert message in err


def test_a_bad_replay_file_exits_2_naming_the_file(capsys, tmp_path):
    folder = tmp_path / "bars"
    folder.mkdir()
    (folder / "AAPL.csv").write_text("timestamp,open,high,low,close,volume\n2024-05-01 09:30,1,2,0.5,x,10\n")
    code, _, err = run(capsys, "run", "--replay", str(folder), "--symbols", "AAPL")
    assert code == 2
    assert "AAPL.csv" in err


def test_a_replay_folder_gives_its_own_symbols_unless_chosen(capsys, tmp_path):
    from vibe_backtest.cli import main as backtest

    assert backtest(["sample", "--out", "bars", "--sessions", "1", "--symbols", "AAPL,TSLA"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "run", "--replay", "bars", "--clock", "feed", "--db", "f.db")
    assert code == 0, err
    assert "symbols=AAPL,TSLA" in err
    code, _, err = run(
        capsys, "run", "--replay", "bars", "--clock", "feed", "--db", "g.db", "--symbols", "MSFT"
    )
    assert code == 2 and "no file for MSFT" in err


def test_a_corrupt_or_foreign_db_exits_2_with_the_store_message(capsys, tmp_path):
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    code, _, err = run(capsys, "run", "--replay", "sample", "--db", "junk.db")
    assert code == 2 and "junk.db: not a SQLite database" in err
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    code, _, err = run(capsys, "run", "--replay", "sample", "--db", "other.db")
    assert code == 2 and "not a vibe store" in err


def test_a_log_resumes_only_with_its_config_and_its_feed(capsys):
    code, _, err = run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "a.db", *SHORT)
    assert code == 0, err
    code, _, err = run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "a.db", *SHORT,
                       "--set", "seed=3")  # fmt: skip
    assert code == 2 and "another config (seed changed)" in err
    code, _, err = run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "a.db", *SHORT,
                       "--set", "data.sample_seed=8")  # fmt: skip
    assert code == 2 and "its log was fed by" in err


def test_dry_run_evaluates_signals_but_places_no_order_and_a_later_run_resumes(capsys):
    args = ["run", "--replay", "sample", "--clock", "feed", "--db", "d.db", *SHORT]
    code, _, err = run(capsys, *args, "--dry-run", "--set", "data.sample_sessions=1")
    assert code == 0, err
    with Store("d.db", readonly=True) as store:
        assert store.rows("orders") == []
        signals = store.rows("signals")
        assert signals and all("risk: trading paused" in s["vetoes"] for s in signals)
        assert store.rows("events")[0]["kind"] == "Pause"
    code, _, err = run(capsys, *args, "--set", "data.sample_sessions=1")
    assert code == 0, err
    with Store("d.db", readonly=True) as store:
        assert store.rows("events")[-1]["kind"] == "Resume"


def test_json_logs_and_the_start_line(capsys):
    code, _, err = run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "j.db", *SHORT,
                       "--log-format", "json")  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in err.splitlines()]
    start = lines[0]
    assert start["event"] == "started" and start["db"] == "j.db" and start["resume"] == "new log"
    assert "replay sample" in start["mode"] and "clock=feed" in start["mode"]
    kinds = {line["event"] for line in lines}
    assert {"session open", "session closed", "order", "fill", "trade closed", "stopped"} <= kinds
    assert len(lines) < 200  # never a line per print (2 sessions: 3,120 prints)


def test_config_show_prints_provenance_and_masks(capsys, monkeypatch):
    monkeypatch.setenv("FINNHUB_API_KEY", "very-secret")
    code, out, _ = run(capsys, "config", "show", "--set", "api.port=9001")
    assert code == 0
    assert "very-secret" not in out and "****" in out
    assert any(line.startswith("  port: 9001") and line.endswith("# --set") for line in out.splitlines())
    code, _, err = run(capsys, "config", "show", "--set", "api.nope=1")
    assert code == 2 and "--set: api.nope: unknown key" in err


def test_the_console_script_runs_as_a_process(tmp_path):
    done = live("run", "--replay", "sample", "--clock", "feed", *SHORT, "--db", "p.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trade closed" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("vibe_live.export") is None, reason="vibe_live.export not built")
def test_export_writes_the_backtester_files(capsys):
    assert run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "e.db", *SHORT)[0] == 0
    code, _, err = run(capsys, "export", "--db", "e.db", "--out", "out")
    assert code == 0, err
    assert (os.path.exists("out/trades.csv")) and os.path.exists("out/summary.json")


@pytest.mark.skipif(importlib.util.find_spec("vibe_live.audit") is None, reason="vibe_live.audit not built")
def test_audit_of_a_clean_session_finds_no_difference(capsys):
    assert run(capsys, "run", "--replay", "sample", "--clock", "feed", "--db", "u.db", *SHORT)[0] == 0
    code, _, err = run(capsys, "audit", "--db", "u.db")
    assert code == 0, err
