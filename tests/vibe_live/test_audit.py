"""``audit_db``: a clean replay audits clean (0, no difference in the table or the JSON); a print changed
in the log after the session ran is reported as exactly the trade it changes, on its day; operator
commands make their day an ``operator`` day, not a mismatch; over random markets and configs a clean
replay always audits clean."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import iter_bars
from vibe_backtest.results import OutputError
from vibe_backtest.sample import sample_market
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state
from vibe_core.events import Clock, CloseAll, Pause, Resume
from vibe_core.testing.market import random_day
from vibe_live.audit import AUDIT_FILE, audit_db, audit_store, format_table
from vibe_live.audit_rows import iso
from vibe_live.recovery import Journal
from vibe_live.replaying import replay_into
from vibe_live.store import Store, StoreError

SESSIONS = calendar()
LAST = dt.date(2024, 7, 26)


def replayed(db, bars, config, **options):
    with Store(db) as store:
        journal = Journal.resume(store, lambda: new_state(config, SESSIONS))
        replay_into(journal, bars, **options)
        journal.snapshot()
    return db


def audit(db, out=None):
    """(exit status, printed table, the audit JSON when ``out``)."""
    stream = io.StringIO()
    code = audit_db(db, out, stream=stream)
    data = json.loads((out / AUDIT_FILE).read_text()) if out is not None else None
    return code, stream.getvalue(), data


@pytest.fixture(scope="module")
def sample_session(tmp_path_factory):
    """20 sessions of the sample market (default config) replayed into a store; the backtest's config."""
    market = sample_market(sessions=SESSIONS, n_sessions=20, end=LAST)
    config = run_backtest(market, keep_bars=False).config
    db = replayed(tmp_path_factory.mktemp("sample") / "vibe.db", list(iter_bars(market)), config)
    return db, market, config


def test_a_clean_session_audits_clean(sample_session, tmp_path):
    db = sample_session[0]
    code, table, data = audit(db, tmp_path / "audit")
    assert code == 0
    assert data["clean"] is True and data["mismatches"] == 0 and data["differences"] == 0
    assert data["days"] == 20 == data["ok"]
    assert all(day["differences"] == [] for day in data["per_day"])
    traded = [d for d in data["per_day"] if d["counts"]["trade"]["session"]]
    assert traded and all(d["counts"]["fill"]["session"] >= 2 for d in traded)
    assert all(d["bars"] == 5 * 78 and d["complete"] for d in data["per_day"] if d["date"] != "2024-07-03")
    lines = table.splitlines()
    assert lines[1].split()[:2] == ["day", "status"]
    assert sum(1 for line in lines if line.startswith("2024-") and line.split()[1] == "ok") == 20
    assert lines[-1] == "20 day(s): 20 ok; clean"


def _tamper(db, symbol, ts, delta):
    """Change the price of ``symbol``'s logged print at ``ts`` by ``delta`` (after the session ran)."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT seq, payload FROM events WHERE kind = 'Trade' AND ts = ?", (ts,)).fetchall()
    hits = [(seq, json.loads(p)) for seq, p in rows if json.loads(p)["symbol"] == symbol]
    assert len(hits) == 1
    seq, data = hits[0]
    data["price"] = round(data["price"] + delta, 2)
    conn.execute("UPDATE events SET payload = ? WHERE seq = ?", (json.dumps(data), seq))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("delta", [-0.10, 0.37])
def test_a_tampered_print_is_reported_as_exactly_the_trade_it_changes(sample_session, tmp_path, delta):
    """An end-of-day exit fills at the 15:55 bar's opening print; changing that print in the log
    changes the price the rebuilt bar's backtest exits at, and nothing else. (The store ends with
    that day: a later day would start from the tampered log's state, whose cash differs.)"""
    source, market, config = sample_session
    with Store(source, readonly=True) as store:
        trade = [t for t in store.rows("trades") if t["exit_reason"] == "eod"][-1]
    day = iso(trade["exit_time"])[:10]
    close = SESSIONS.for_date(dt.date.fromisoformat(day)).close
    db = replayed(tmp_path / "tampered.db", [b for b in iter_bars(market) if b.ts < close], config)
    with Store(db, readonly=True) as store:
        fills = store.rows("fills")
        assert store.rows("trades")[-1]["exit_time"] == trade["exit_time"]
    (exit_fill,) = [f for f in fills if f["time"] == trade["exit_time"] and f["symbol"] == trade["symbol"]]
    _tamper(db, trade["symbol"], trade["exit_time"], delta)

    code, table, data = audit(db, tmp_path / "audit")
    assert code == 1
    assert data["clean"] is False and data["mismatches"] == 2 and data["differs"] == 1
    (bad,) = [d for d in data["per_day"] if d["differences"]]
    assert bad["date"] == day and bad["status"] == "differs"
    fill, traded = bad["differences"]
    assert (fill["kind"], fill["key"], fill["change"]) == ("fill", f"{exit_fill['order_id']} #1", "changed")
    assert set(fill["fields"]) == {"price", "ref_price"}
    assert fill["fields"]["ref_price"] == {
        "session": exit_fill["ref_price"],
        "backtest": round(exit_fill["ref_price"] + delta, 2),
    }
    entry = iso(trade["entry_time"])
    assert (traded["kind"], traded["key"], traded["change"]) == (
        "trade",
        f"{trade['symbol']} orb {entry}",
        "changed",
    )
    assert set(traded["fields"]) == {"exit_price", "pnl"}
    assert traded["session"]["exit_price"] == trade["exit_price"]
    shown = [line for line in table.splitlines() if line.startswith(day + "  ")]
    assert len(shown) == 3 and "differs" in shown[0]  # the day's line, then its two differences
    n = len(data["per_day"])
    assert table.splitlines()[-1] == f"{n} day(s): {n - 1} ok; 2 difference(s) on 1 day(s)"


def test_operator_commands_make_an_operator_day_not_a_mismatch(sample_session, tmp_path):
    """A CloseAll right after an entry closes the trade early: that day differs from the backtest and
    says why; the next day starts from the session's own state and audits clean."""
    _, market, config = sample_session
    with Store(sample_session[0], readonly=True) as store:
        entry = store.rows("trades")[0]
    at = entry["entry_time"] + 60 * 10**9
    commands = [CloseAll(ts=at), Pause(ts=at + 1), Resume(ts=at + 2 * 3600 * 10**9)]
    db = replayed(tmp_path / "operator.db", list(iter_bars(market)), config, commands=commands)

    code, table, data = audit(db, tmp_path / "audit")
    assert code == 0 and data["clean"] is True
    day = iso(entry["entry_time"])[:10]
    (touched,) = [d for d in data["per_day"] if d["operator_events"]]
    assert touched["date"] == day and touched["status"] == "operator"
    assert [e["kind"] for e in touched["operator_events"]] == ["CloseAll", "Pause", "Resume"]
    assert any(x["kind"] == "trade" for x in touched["differences"])
    assert data["operator"] == 1 and data["ok"] == 19 and data["mismatches"] == 0
    (line,) = [x for x in table.splitlines() if x.startswith(day + "  operator")]
    assert "operator: CloseAll" in line


def test_a_day_the_log_does_not_finish_is_audited_up_to_its_last_event(sample_session, tmp_path):
    _, market, config = sample_session
    cut = SESSIONS.for_date(LAST).open + 4 * 3600 * 10**9  # 13:30 on the last day
    bars = [b for b in iter_bars(market) if b.ts < cut]
    db = replayed(tmp_path / "partial.db", bars, config, finish=False)
    code, table, data = audit(db, tmp_path / "audit")
    assert code == 0 and data["clean"] is True
    last = data["per_day"][-1]
    assert last["date"] == LAST.isoformat() and last["complete"] is False
    assert last["last_time"].startswith(f"{LAST.isoformat()}T13:29:59")
    assert last["bars"] == 5 * 47  # the bars that closed: 09:30 .. 13:20 (13:25's closes at 13:30)
    assert "partial: the log ends at 13:29:59" in table


def test_the_table_goes_to_stdout_and_the_json_beside_other_files(sample_session, tmp_path, capsys):
    """``out`` may hold an export (or anything): audit.json is added or replaced, whole, nothing else."""
    out = tmp_path / "results"
    out.mkdir()
    (out / "trades.csv").write_text("kept\n")
    (out / AUDIT_FILE).write_text("stale")
    assert audit_db(sample_session[0], out) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "20 day(s): 20 ok; clean"
    assert sorted(p.name for p in out.iterdir()) == [AUDIT_FILE, "trades.csv"]
    assert json.loads((out / AUDIT_FILE).read_text())["days"] == 20


def test_an_out_that_cannot_be_a_folder_is_refused_first(sample_session, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputError, match=r"exists and is not a folder") as err:
        audit_db(sample_session[0], target)
    assert str(target) in str(err.value)
    assert capsys.readouterr().out == ""  # refused before the audit ran


def test_bars_logged_as_bars_are_audited_like_prints(tmp_path):
    """History bars in the log (a warm-up) are a day the audit rebuilds and backtests like the others."""
    bars = random_bars(5, 4, 11, (0.001, 0.0, -0.001))
    config = config_from_dict({"symbols": list(SYMBOLS), "exchange": {"partial_fills": False}})
    split = DAYS[6].open
    with Store(tmp_path / "vibe.db") as store:
        journal = Journal.resume(store, lambda: new_state(config, SESSIONS))
        history = [b for b in bars if b.ts < split]
        for i in range(0, len(history), 50):
            journal.feed(history[i : i + 50])
        journal.feed([Clock(ts=DAYS[5].close)])
        replay_into(journal, [b for b in bars if b.ts >= split])
        report = audit_store(store)  # (read through the writer's connection: the same rows)
    assert report.clean, format_table(report)
    assert [(d.bars, d.prints > 0) for d in report.days] == [(3 * 78, False)] + [(3 * 78, True)] * 3
    assert sum(d.counts["signal"][0] for d in report.days) > 0


@pytest.mark.parametrize("make", ["missing", "foreign"])
def test_a_bad_store_is_refused_naming_it(tmp_path, make):
    db = tmp_path / "vibe.db"
    if make == "foreign":
        sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match=r"no such database|not a vibe store") as err:
        audit_db(db, tmp_path / "audit")
    assert str(db) in str(err.value)
    assert not (tmp_path / "audit").exists()


SYMBOLS = ("AAPL", "MSFT", "TSLA")
DAYS = [s for s in SESSIONS.sessions if dt.date(2024, 3, 1) <= s.date <= dt.date(2024, 4, 30)]


@st.composite
def markets(draw):
    """Three or four consecutive sessions of random 5m bars (by their seeds), a config, maybe
    operator commands. Small values: the bars are built in the test (a failing example stays short)."""
    first = draw(st.integers(0, len(DAYS) - 4))
    n_days = draw(st.integers(3, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    drifts = tuple(draw(st.sampled_from([0.0, 0.001, -0.001])) for _ in SYMBOLS)
    settings_ = {
        "symbols": list(SYMBOLS),
        "seed": draw(st.integers(0, 99)),
        "validation": {"enabled": draw(st.booleans())},
        "strategy": {"allow_short": draw(st.booleans())},
        "exchange": {"preset": draw(st.sampled_from(["optimistic", "base", "pessimistic"]))},
    }
    commands = []
    if draw(st.booleans()):
        at = DAYS[first + draw(st.integers(0, n_days - 1))].open + draw(st.integers(15, 380)) * 60 * 10**9
        kind = draw(st.sampled_from([CloseAll, Pause]))
        commands = [kind(ts=at), *([Resume(ts=at + 3600 * 10**9)] if kind is Pause else [])]
    return first, n_days, seed, drifts, settings_, commands


def random_bars(first, n_days, seed, drifts):
    rng = np.random.default_rng(seed)
    bars = []
    for session in DAYS[first : first + n_days]:
        for symbol, drift in zip(SYMBOLS, drifts, strict=True):
            bars.extend(random_day(session, symbol, rng, start=100.0, volatility=0.003, drift=drift))
    bars.sort(key=lambda b: b.ts)  # (stable: symbols in order at each time)
    return bars


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_a_clean_replay_always_audits_clean(tmp_path_factory, market):
    first, n_days, seed, drifts, settings_, commands = market
    bars = random_bars(first, n_days, seed, drifts)
    config = config_from_dict(settings_)
    db = replayed(tmp_path_factory.mktemp("random") / "vibe.db", bars, config, commands=commands)
    with Store(db, readonly=True) as store:
        report = audit_store(store)
    assert report.clean, format_table(report)
    event(f"trades: {'some' if any(d.counts['trade'][0] for d in report.days) else 'none'}")
    event(f"operator day differs: {any(d.status == 'operator' for d in report.days)}")
    assert len(report.days) == n_days
    for day in report.days:
        if not day.touched:
            assert day.status == "ok" and day.differences == (), day.differences
        assert day.status in ("ok", "operator") and day.complete


# Regression: with partial fills, the remainder of a flatten order filled at the session's close
# got another slippage from prints than from bars (the volatility term reads the last closed 5m
# bar, and the 15:55 bar closed before the close's work only in bar mode). Both shells now close
# due bars before the session's work; these two markets showed it.


@pytest.mark.parametrize(
    ("market", "preset", "seed", "shown"),
    [
        ((12, 3, 2189, (0.0, 0.0, -0.001)), "base", 33, "TSLA-20240319-4 #5: price 99.9662 -> 99.8947"),
        ((2, 4, 0, (0.0, 0.0, 0.0)), "pessimistic", 0, "MSFT-20240308-4 #4: price 101.2044 -> 101.1995"),
    ],
    ids=["base", "pessimistic"],
)
def test_partial_fills_at_the_close_audit_clean(tmp_path, market, preset, seed, shown):
    config = config_from_dict(
        {
            "symbols": list(SYMBOLS),
            "seed": seed,
            "validation": {"enabled": False},
            "exchange": {"preset": preset},
        }
    )
    db = replayed(tmp_path / "vibe.db", random_bars(*market), config)
    with Store(db, readonly=True) as store:
        report = audit_store(store)
    assert shown not in format_table(report)  # what the audit reported before the core's fix
    assert report.clean, format_table(report)
