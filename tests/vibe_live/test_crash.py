"""Crash recovery on real processes: ``vibe-live run --replay sample --clock feed`` killed with SIGKILL at
random points (inside a group: logged but not yet recorded; right after a fill's rows; at a random
moment from outside), restarted on the same DB each time, ends with the read tables and exported
files of an uninterrupted run, byte for byte, and no order id twice."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.vibe_live.live_files import COMPARED, env, export, live

from vibe_live.store import Store

SHORT = [
    "--set",
    "data.sample_sessions=5",
    "--set",
    "storage.snapshot_every=700",
    "--set",
    "features.enable_mtf_validation=false",
]
RUN = ["run", "--replay", "sample", "--clock", "feed", *SHORT]
TABLES = ("events", "orders", "order_events", "fills", "trades", "signals", "halts", "equity", "sessions")


def tables(db: Path) -> dict[str, list[dict]]:
    with Store(db, readonly=True) as store:
        return {t: store.rows(t) for t in TABLES}


def last_seq(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def test_kill_9_at_random_points_then_restart_equals_an_uninterrupted_run(tmp_path):
    ref = live(*RUN, "--db", "ref.db", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-2000:]
    want = tables(tmp_path / "ref.db")
    end = want["events"][-1]["seq"]
    fill_seqs = sorted({r["seq"] for r in want["fills"]})
    assert len(fill_seqs) >= 4

    rng = random.Random(11)
    points = [
        (rng.choice(fill_seqs[: len(fill_seqs) // 3]), "logged"),  # inside a group: logged, not recorded
        (rng.randrange(1, end), "recorded"),
        (rng.choice(fill_seqs), "recorded"),  # right after a fill's rows
        (rng.randrange(1, end), "logged"),
        (rng.randrange(1, end), "recorded"),
    ]
    points = sorted(points)
    db = tmp_path / "crash.db"
    kills = 0
    for seq, where in points:
        if seq <= last_seq(db):
            continue
        done = live(*RUN, "--db", "crash.db", cwd=tmp_path, VIBE_LIVE_KILL_AT=f"{seq}:{where}")
        assert done.returncode == -signal.SIGKILL, (seq, where, done.stderr[-2000:])
        assert last_seq(db) >= seq
        kills += 1

    # one more from outside, at whatever moment the process has reached
    child = subprocess.Popen(
        [sys.executable, "-m", "vibe_live.cli", *RUN, "--db", "crash.db"],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    start, target = last_seq(db), last_seq(db) + rng.randrange(200, 1500)
    deadline = time.monotonic() + 60
    while last_seq(db) < target and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
        kills += 1
    child.wait(timeout=30)
    assert last_seq(db) > start

    final = live(*RUN, "--db", "crash.db", cwd=tmp_path)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "resume=seq" in final.stderr
    assert kills >= 5

    got = tables(db)
    for table in TABLES:
        assert got[table] == want[table], table
    accepted = [r["order_id"] for r in got["order_events"] if r["kind"] == "accepted"]
    assert len(accepted) == len(set(accepted)) == len(got["orders"])
    for name in COMPARED:
        a = export(tmp_path / "ref.db", tmp_path / "ref") / name
        b = export(db, tmp_path / "crash") / name
        assert a.read_bytes() == b.read_bytes(), name
    with Store(db, readonly=True) as store:
        assert store.integrity_check() == "ok"
