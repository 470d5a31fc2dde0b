"""``export_db``: a replayed session's store, exported, gives the backtester's files for the same bars
byte for byte (trades, orders, fills, equity; signals up to the bars' source name; summary up to its
run time); a bad store is refused naming it; the folder appears whole or not at all."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import iter_bars
from vibe_backtest.results import TRADE_COLUMNS, BacktestResult, OutputError
from vibe_backtest.sample import sample_market
from vibe_core.engine import new_state
from vibe_live.export import export_db
from vibe_live.recovery import Journal
from vibe_live.replaying import replay_into
from vibe_live.store import Store, StoreError

#: three 20-session windows of the sample market (the middle one holds the 13:00 close of 2024-07-03)
WINDOWS = [dt.date(2024, 5, 29), dt.date(2024, 7, 5), dt.date(2024, 7, 26)]
FILES = (
    "trades.csv",
    "orders.csv",
    "fills.csv",
    "equity.csv",
    "signals.csv",
    "gaps.csv",
    "summary.json",
    "config.json",
)


def replayed(tmp_path, market, config):
    """A store holding ``market`` replayed through the journal (``--clock feed``), the backtester's
    config bound to it as the service binds its own."""
    sessions = calendar()
    db = tmp_path / "vibe.db"
    with Store(db) as store:
        journal = Journal.resume(store, lambda: new_state(config, sessions))
        replay_into(journal, iter_bars(market))
        journal.snapshot()
    return db


@pytest.fixture(scope="module", params=WINDOWS, ids=str)
def window(request, tmp_path_factory):
    """(store, backtest folder, export folder) for 20 sessions of the sample market."""
    tmp = tmp_path_factory.mktemp(f"window-{request.param}")
    market = sample_market(sessions=calendar(), n_sessions=20, end=request.param)
    result = run_backtest(market, keep_bars=False)  # default preset, validation on
    result.write(tmp / "backtest", report=False)
    db = replayed(tmp, market, result.config)
    exported = export_db(db, tmp / "export")
    return db, tmp / "backtest", exported, result


def test_the_export_equals_the_backtest_byte_for_byte(window):
    _, backtest, exported, result = window
    assert len(result.trades) >= 2 and len(result.fills) >= 4  # something to compare
    assert sorted(p.name for p in exported.iterdir()) == sorted(FILES)
    for name in ("trades.csv", "orders.csv", "fills.csv", "equity.csv", "gaps.csv", "config.json"):
        assert (exported / name).read_bytes() == (backtest / name).read_bytes(), name


def test_signals_differ_only_in_the_bars_source_and_summary_only_in_run_time(window):
    """Bars made from prints carry the feed's source ("finnhub"), the sample's bars "sample": the
    volume rule's text names it. Every other byte is the backtester's, but for how the backtest
    ran: its wall time, and how many bars it stepped (the rest could change nothing; the service
    steps every print)."""
    _, backtest, exported, _ = window
    ours = (exported / "signals.csv").read_text()
    theirs = (backtest / "signals.csv").read_text()
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert ours.replace("finnhub bars", "sample bars") == theirs
    summary, expected = (json.loads((p / "summary.json").read_text()) for p in (exported, backtest))
    assert list(summary) == list(expected)
    assert summary["wall_seconds"] == 0.0
    assert summary["bars_stepped"] == summary["bars_processed"] >= expected["bars_stepped"]
    for key in ("wall_seconds", "bars_stepped"):
        del summary[key], expected[key]
    assert summary == expected


def test_the_export_reads_like_a_backtest(window):
    exported = window[2]
    trades = (exported / "trades.csv").read_text().splitlines()
    assert trades[0] == ",".join(TRADE_COLUMNS)
    assert trades[1].split(",")[3].endswith("-04:00")  # entry_time in New York time
    head = (exported / "equity.csv").read_text().splitlines()[0]
    assert head == "time,cash,equity"


def test_the_export_of_a_store_being_written(tmp_path):
    """The service holds the store open for writing; export reads it meanwhile (WAL readers)."""
    sessions = calendar()
    market = sample_market(sessions=sessions, n_sessions=3)
    result = run_backtest(market, keep_bars=False)
    with Store(tmp_path / "vibe.db") as store:
        journal = Journal.resume(store, lambda: new_state(result.config, sessions))
        replay_into(journal, iter_bars(market))  # no snapshot: the export re-applies the log
        out = export_db(tmp_path / "vibe.db", tmp_path / "out")
        journal.snapshot()
    result.write(tmp_path / "backtest", report=False)
    for name in ("trades.csv", "orders.csv", "fills.csv", "equity.csv"):
        assert (out / name).read_bytes() == (tmp_path / "backtest" / name).read_bytes(), name


def test_an_earlier_export_is_replaced_and_a_foreign_folder_refused(window, tmp_path):
    db, _, first, _ = window
    out = tmp_path / "out"
    export_db(db, out)
    (out / "trades.csv").write_text("stale\n")
    export_db(db, out)
    assert (out / "trades.csv").read_bytes() == (first / "trades.csv").read_bytes()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"notes\.txt"):
        export_db(db, foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_the_export_is_atomic(window, tmp_path, monkeypatch):
    """A failure half-way (after some files are written) leaves no folder and no temporary one."""
    db = window[0]
    real = BacktestResult.write_files

    def broken(self, out, *, report=True):
        (out / "trades.csv").write_text("symbol,side\n")  # some files are written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(BacktestResult, "write_files", broken)
    with pytest.raises(KeyboardInterrupt):
        export_db(db, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(BacktestResult, "write_files", real)
    assert (export_db(db, tmp_path / "out") / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_the_store_is_opened_read_only(window, tmp_path):
    db = window[0]
    before = db.read_bytes()
    export_db(db, tmp_path / "out")
    assert db.read_bytes() == before
    with Store(db) as store:  # a writer can open it right after
        assert store.last_seq() > 0


def _foreign(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()


def _corrupt(path):
    with Store(path) as store:
        store.set_meta("config", "{}")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree header and cells
    path.write_bytes(bytes(data))


def _no_session(path):
    with Store(path):
        pass


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such database"),
        (lambda p: p.write_text("not a database at all\n"), "not a SQLite database"),
        (_foreign, "not a vibe store"),
        (_corrupt, "damaged|malformed|failed"),
        (lambda p: p.mkdir(), "is a directory"),
        (_no_session, "holds no session"),
    ],
    ids=["missing", "text", "foreign", "corrupt", "directory", "empty"],
)
def test_a_bad_store_is_refused_naming_it(tmp_path, make, message):
    db = tmp_path / "vibe.db"
    if make is not None:
        make(db)
    with pytest.raises(StoreError, match=message) as err:
        export_db(db, tmp_path / "out")
    assert str(db) in str(err.value)
    assert not (tmp_path / "out").exists()
