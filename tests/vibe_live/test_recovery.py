"""Recovery: a log snapshotted and crashed at random points and recovered gives the state and the read
tables of the uninterrupted run; a process killed with SIGKILL mid-commit leaves a sound file whose
log is a prefix of what was sent, in whole groups."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vibe_live
from vibe_backtest.loop import Recorder
from vibe_core.actions import (
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RiskHalted,
    SignalEvaluated,
    TradeClosed,
)
from vibe_core.calendar import nyse_sessions
from vibe_core.codec import action_to_dict, unstructure
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, save_state, step
from vibe_core.events import CloseAll, Pause, Resume
from vibe_core.testing.market import as_prints, events_for, random_day
from vibe_live.recovery import Journal, recover
from vibe_live.store import Store, StoreError

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]
SYMBOLS = ("AAPL", "MSFT")
RECORDS = {
    Filled: "fills",
    TradeClosed: "trades",
    SignalEvaluated: "signals",
    RiskHalted: "halts",
    OrderAccepted: "order_events",
    OrderCancelled: "order_events",
    OrderRejected: "order_events",
}
TABLES = ("events", "orders", "order_events", "fills", "trades", "signals", "halts", "equity", "sessions")


@st.composite
def scenarios(draw):
    """A config, one or two sessions of prints with operator commands, and a plan of crashes."""
    first = draw(st.integers(0, len(DAYS) - 2))
    days = []
    for session in DAYS[first : first + draw(st.integers(1, 2))]:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        drift = draw(st.sampled_from([0.0, 0.0008, -0.0008]))
        days.append(
            (
                session,
                [random_day(session, s, rng, start=100.0, volatility=0.003, drift=drift) for s in SYMBOLS],
            )
        )
    events = as_prints(events_for(days))
    for _ in range(draw(st.integers(0, 3))):  # operator commands at the time of the print before them
        i = draw(st.integers(1, len(events) - 1))
        command = draw(st.sampled_from([Pause, Resume, CloseAll]))
        events.insert(i, command(ts=events[i - 1].ts))
    cfg = config_from_dict(
        {
            "symbols": list(SYMBOLS),
            "seed": draw(st.integers(0, 99)),
            "validation": {"enabled": draw(st.booleans())},
            "strategy": {"allow_short": draw(st.booleans())},
            "exchange": {"preset": draw(st.sampled_from(["optimistic", "base"]))},
        }
    )
    cuts = sorted(draw(st.sets(st.integers(1, len(events) - 1), max_size=12)))
    bounds = [0, *cuts, len(events)]
    groups = [events[a:b] for a, b in itertools.pairwise(bounds)]
    plan = draw(
        st.lists(
            st.sampled_from(["feed", "snapshot", "crash", "crash_before_apply"]),
            min_size=len(groups),
            max_size=len(groups),
        )
    )
    every = draw(st.sampled_from([50, 400, 10**9]))
    return cfg, events, groups, plan, every


def _tables(path):
    with Store(path, readonly=True) as store:
        return {t: store.rows(t) for t in TABLES}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_recovered_runs_equal_the_uninterrupted_run(scenario):
    cfg, events, groups, plan, every = scenario
    engine = lambda: new_state(cfg, SESSIONS)  # noqa: E731

    straight = engine()
    expected = {table: [] for table in [*RECORDS.values(), "orders"]}  # the straight run's, by log position
    recorder = Recorder()  # the backtester's, for the order statuses
    for seq, e in enumerate(events, start=1):
        straight, actions = step(straight, e)
        recorder.record(actions)
        for idx, a in enumerate(actions):
            if type(a) in RECORDS:
                expected[RECORDS[type(a)]].append((seq, idx, action_to_dict(a)))
            if isinstance(a, OrderAccepted) and a.order is not None:
                expected["orders"].append((seq, idx, unstructure(a.order)))

    with tempfile.TemporaryDirectory() as tmp:
        clean, crashed = Path(tmp) / "clean.db", Path(tmp) / "crashed.db"
        with Store(clean) as store:
            journal = Journal.resume(store, engine, snapshot_every=10**9)
            for group in groups:
                journal.feed(group)
            assert save_state(journal.state) == save_state(straight)

        store = Store(crashed)
        journal = Journal.resume(store, engine, snapshot_every=every)
        crashes = 0
        for group, what in zip(groups, plan, strict=True):
            if what == "crash_before_apply":  # logged, then killed before stepping it
                assert store.append(group)[-1] == journal.last_seq + len(group)
            else:
                journal.feed(group)
            if what == "snapshot":
                journal.snapshot()
            if what.startswith("crash"):
                store.close()  # no final snapshot: whatever was committed is all there is
                store = Store(crashed)
                state, last = recover(store, engine, snapshot_every=every)
                assert last == store.last_seq()
                journal = Journal.resume(store, engine, snapshot_every=every)
                assert save_state(journal.state) == save_state(state)
                crashes += 1
        assert journal.last_seq == len(events)
        assert save_state(journal.state) == save_state(straight)
        store.close()
        tables = _tables(crashed)
        assert tables == _tables(clean)
        got = {t: [(r["seq"], r["idx"], json.loads(r["action"])) for r in tables[t]] for t in expected}
        assert got == expected
        assert {r["id"]: r["status"] for r in tables["orders"]} == {
            o.id: recorder.order_status[o.id] for o in recorder.orders
        }


def test_the_recovery_property_sees_trades_and_crashes():
    """Guard: such scenarios do trade, so the equality of read tables above is not vacuous."""
    rng = np.random.default_rng(5)
    days = [
        (s, [random_day(s, sym, rng, start=100.0, volatility=0.003, drift=0.0008) for sym in SYMBOLS])
        for s in DAYS[:2]
    ]
    cfg = config_from_dict({"symbols": list(SYMBOLS), "validation": {"enabled": False}})
    actions = []
    state = new_state(cfg, SESSIONS)
    for e in as_prints(events_for(days)):
        state, out = step(state, e)
        actions.extend(out)
    assert any(isinstance(a, TradeClosed) for a in actions)
    assert any(isinstance(a, Filled) and a.fill.tag in ("stop", "target") for a in actions)


def test_recovery_resumes_after_the_last_logged_event(tmp_path):
    rng = np.random.default_rng(11)
    day = DAYS[3]
    events = as_prints(events_for([(day, [random_day(day, s, rng, start=50.0) for s in SYMBOLS])]))
    cfg = config_from_dict({"symbols": list(SYMBOLS)})
    engine = lambda: new_state(cfg, SESSIONS)  # noqa: E731
    with Store(tmp_path / "vibe.db") as store:
        state, last = recover(store, engine)
        assert last == 0 and save_state(state) == save_state(engine())
        journal = Journal(store, state, snapshot_every=100)
        journal.feed(events[:250])
        store.append(events[250:260])  # logged, not applied: the crash came in between
    with Store(tmp_path / "vibe.db") as store:
        state, last = recover(store, engine, snapshot_every=100)
        assert last == 260  # the feed continues with events[260]
        assert store.latest_snapshot()[0] >= 200
        for e in events[260:]:
            state, _ = step(state, e)
    straight = engine()
    expected = {table: [] for table in [*RECORDS.values(), "orders"]}  # the straight run's, by log position
    recorder = Recorder()  # the backtester's, for the order statuses
    for seq, e in enumerate(events, start=1):
        straight, actions = step(straight, e)
        recorder.record(actions)
        for idx, a in enumerate(actions):
            if type(a) in RECORDS:
                expected[RECORDS[type(a)]].append((seq, idx, action_to_dict(a)))
            if isinstance(a, OrderAccepted) and a.order is not None:
                expected["orders"].append((seq, idx, unstructure(a.order)))
    assert save_state(state) == save_state(straight)


def test_a_log_is_replayed_only_under_its_own_config(tmp_path):
    first = config_from_dict({"symbols": ["AAPL"]})
    other = config_from_dict({"symbols": ["AAPL"], "strategy": {"reward_risk": 3}, "seed": 9})
    with Store(tmp_path / "vibe.db") as store:
        recover(store, lambda: new_state(first, SESSIONS))
    with Store(tmp_path / "vibe.db") as store:
        with pytest.raises(StoreError, match=r"another config \(seed, strategy\.reward_risk changed\)"):
            recover(store, lambda: new_state(other, SESSIONS))
        recover(store, lambda: new_state(first, SESSIONS))


# -- kill -9 on a real process -------------------------------------------------------------------

APPENDER = Path(__file__).with_name("appender.py")
GROUP = 400


def _expected(seq):
    return (1_714_570_200_000_000_000 + seq * 1_000, float(seq))


def test_a_process_killed_mid_commit_leaves_whole_groups(tmp_path):
    path = tmp_path / "vibe.db"
    env = {**os.environ, "PYTHONPATH": str(Path(vibe_live.__file__).parents[1])}
    rng = np.random.default_rng(2026)
    acknowledged = 0
    for _ in range(5):
        child = subprocess.Popen(
            [sys.executable, str(APPENDER), str(path), str(GROUP)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout is not None
        wait_for = int(rng.integers(1, 6))
        for _ in range(wait_for):  # groups the child reports committed
            acknowledged = max(acknowledged, int(child.stdout.readline()))
        child.send_signal(signal.SIGKILL)  # the child is appending: most likely inside a commit
        child.wait()
        child.stdout.close()
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT seq, ts, payload FROM events ORDER BY seq").fetchall()
        conn.close()
        assert len(rows) % GROUP == 0, "a group was cut in two"
        assert len(rows) >= acknowledged, "a committed group was lost"
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    with Store(path, readonly=True) as store:
        for seq, event in store.events_after(0):
            assert (event.ts, event.size) == _expected(seq)
    assert acknowledged >= 5 * GROUP
