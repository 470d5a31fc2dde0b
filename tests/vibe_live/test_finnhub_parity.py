"""Parity through the real WebSocket client, on real processes: the sample market's bars served as
prints (the four points of DESIGN §3, all symbols of an instant in one frame) by the fake Finnhub
server, consumed by ``vibe-live run --finnhub-url ws://127.0.0.1:PORT --clock feed`` (key from the
environment), stopped with SIGTERM once everything is applied: ``vibe-live export`` gives the
trades.csv, orders.csv and fills.csv of ``vibe-backtest run`` on the same bars, byte for byte; also
when the server drops the connection every 300 frames and resumes where it stopped.

The data ends with one after-hours print a minute after the last session's close: with the feed's
clock the close is processed when a later print arrives (as it is live, by the next morning's first
print), and an extended-hours print is logged but makes no bar, so the sessions compared are whole.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.finnhub_server import FakeFinnhub, trade_message
from tests.vibe_live.live_files import COMPARED, env, export, live, sample_backtest

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_core.events import Trade
from vibe_live.cli import _load_replay
from vibe_live.feeds.replay import frames_of, replay_prints
from vibe_live.settings import Settings

KEY = "parity-key"
MINUTE = 60 * 10**9


def sample_texts() -> tuple[list[str], int]:
    """The sample market (the defaults' symbols and sessions) as Finnhub frames, and its print count."""
    market, _ = _load_replay("sample", Settings(), chosen=False)
    bars = list(iter_bars(market))
    frames = list(frames_of(replay_prints(bars)))
    last = frames[-1][-1]
    close = calendar().session_at(last.ts).close
    after = Trade(symbol=last.symbol, ts=close + MINUTE, price=last.price, size=1.0)
    frames.append([after])
    return [trade_message(f) for f in frames], sum(len(f) for f in frames)


def logged(db: Path) -> tuple[int, int]:
    """(prints, FeedStatus events) in the log so far."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = dict(conn.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    except sqlite3.OperationalError:
        return 0, 0
    finally:
        conn.close()
    return rows.get("Trade", 0), rows.get("FeedStatus", 0)


def run_live(tmp_path: Path, server: FakeFinnhub, db: str, total: int) -> str:
    args = [
        "run", "--finnhub-url", server.url, "--clock", "feed", "--db", db, "--set", "data.warmup=false",
        "--set", "data.reconnect_base_seconds=0.05", "--set", "data.reconnect_cap_seconds=0.2",
        "--set", "data.archive=false", "--set", "data.backfill_after_seconds=0",  # no Yahoo, no cache
    ]  # fmt: skip
    log = (tmp_path / f"{db}.log").open("w+")
    child = subprocess.Popen(
        [sys.executable, "-m", "vibe_live.cli", *args],
        cwd=tmp_path,
        env=env(VIBE__DATA__FINNHUB_API_KEY=KEY, VIBE_CACHE_DIR=str(tmp_path / "cache")),
        stdout=subprocess.DEVNULL,
        stderr=log,  # (a pipe nobody reads would block the service once full)
        text=True,
    )
    try:
        server.wait_delivered(240)
        deadline = time.monotonic() + 120
        while logged(tmp_path / db)[0] < total:
            assert child.poll() is None, (tmp_path / f"{db}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, logged(tmp_path / db)
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
    err = (tmp_path / f"{db}.log").read_text()
    assert child.returncode == 0, err[-3000:]
    return err


def test_the_sample_market_through_the_finnhub_client_equals_the_backtest(tmp_path):
    frames, total = sample_texts()
    sample_backtest(tmp_path)

    for name, drop_every in (("live", None), ("drops", 300)):
        with FakeFinnhub(frames, token=KEY, drop_every=drop_every) as server:
            err = run_live(tmp_path, server, f"{name}.db", total)
            drops = len(server.drops)
        assert "feed connected" in err and KEY not in err  # (nor in the API's or httpx's lines)
        assert "api listening" in err  # the monitoring API runs with the live feed too
        prints, statuses = logged(tmp_path / f"{name}.db")
        assert prints == total
        assert statuses == 1 + 2 * drops  # connected, then a down/up pair per drop
        if drop_every:
            assert drops == (len(frames) - 1) // drop_every > 50
        exported = export(tmp_path / f"{name}.db", tmp_path / name)
        for file in COMPARED:
            ours, theirs = (exported / file).read_text(), (tmp_path / "bt" / file).read_text()
            assert ours == theirs, (name, file)
    done = live("config", "show", cwd=tmp_path, VIBE__DATA__FINNHUB_API_KEY=KEY)
    assert KEY not in done.stdout and json is not None
