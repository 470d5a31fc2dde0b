"""Helpers for the sync tests: a sample market run through the real service with sync on or off."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path
from typing import Any

import anyio

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_live.clock import ReplayClock
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.logs import setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings, build_settings
from vibe_live.store import Store

SYMBOLS = ["AAPL", "MSFT"]
END = dt.date(2024, 7, 26)


def bars(sessions: int) -> list[Any]:
    market = sample_market(SYMBOLS, sessions=calendar(), n_sessions=sessions, end=END, seed=7)
    return list(iter_bars(market))


def settings(sync: dict[str, Any] | None = None) -> Settings:
    """Validation off (trades in a few sessions); sync on with ``sync`` keys, or off when None."""
    tree: dict[str, Any] = {
        "symbols": SYMBOLS,
        "validation": {"enabled": False},
        "service": {"clock_grace_ms": 20_000},
        "features": {"enable_cloud_sync": sync is not None},
    }
    if sync is not None:
        tree["sync"] = {"retry_backoff_s": 0.05, **sync}
    return build_settings(tree)


def run(db: Path, data: list[Any], config: Settings, *, speed: float | None = None) -> tuple[Any, str]:
    """Run the service over ``data`` into ``db`` (feed clock, or a wall-clock replay at ``speed``)."""
    log = io.StringIO()
    setup_logging(stream=log)
    store = Store(db)
    try:
        service = LiveService(
            config,
            store,
            calendar(),
            lambda skip: ReplayFeed(data, skip=skip),
            feed_label="sync test",
            clock_mode="feed" if speed is None else "wall",
            clock=None if speed is None else ReplayClock(speed),
            last_close=calendar().session_at(data[-1].ts).close,
        )
        anyio.run(service.run)
    finally:
        store.close()
    return service, log.getvalue()


def rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        order = {"events": "seq", "trades": "seq, idx", "fills": "seq, idx"}[table]
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    finally:
        conn.close()
