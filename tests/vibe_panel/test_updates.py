"""The dashboard's update stream against the real service: it follows ``WS /ws/updates``, and when
the service restarts (same store, same port) it reconnects by itself with ``since`` and hands on
every row message once, in order: none lost, none repeated, state messages passed through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.vibe_live.api_service import HoldFeed, sample_bars, settings

from vibe_backtest.api import calendar
from vibe_live.api.live import attach_api
from vibe_live.service import LiveService
from vibe_live.store import Store
from vibe_panel.server import free_port
from vibe_panel.updates import ROW_TYPES, UpdateStream

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def service_on(db: Path, bars: list[Any], port: int, stop_after: int | None) -> AsyncIterator[HoldFeed]:
    """The replaying service with its API on 127.0.0.1:``port``, until the block ends (a clean stop)."""
    store = Store(db)
    feeds: list[HoldFeed] = []

    def make(skip: int) -> HoldFeed:
        feeds.append(HoldFeed(bars, skip, stop_after))
        return feeds[-1]

    try:
        service = LiveService(
            settings(), store, calendar(), make, feed_label="replay test", clock_mode="feed"
        )
        live = attach_api(service, port=port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.run)
            while not live.server.server.started:
                await anyio.sleep(0.01)
            yield feeds[0]
            service.stop("test over")
    finally:
        store.close()


async def _settle(got: list[dict[str, Any]], feed: HoldFeed) -> None:
    """Until the feed is done and no message came for a while."""
    with anyio.fail_after(60):
        await feed.done.wait()
        seen = -1
        while seen != len(got):
            seen = len(got)
            await anyio.sleep(0.3)


async def test_the_stream_resumes_with_since_across_a_service_restart(tmp_path: Path):
    bars, port, db = sample_bars(6), free_port(), tmp_path / "s.db"
    got: list[dict[str, Any]] = []
    stream = UpdateStream(f"http://127.0.0.1:{port}", got.append, retry_s=0.05, max_retry_s=0.2, since=0)
    async with anyio.create_task_group() as tg:
        async with service_on(db, bars, port, stop_after=1500) as feed:
            tg.start_soon(stream.run)
            await _settle(got, feed)
            first_run_last, first_run_connects = stream.last_seq, stream.connects
        # (a loaded machine may also see the API drop the stream as too slow: it resumes the same way)
        assert first_run_last is not None and first_run_connects >= 1
        async with service_on(db, bars, port, stop_after=None) as feed:
            await _settle(got, feed)
        tg.cancel_scope.cancel()
    rows = [m for m in got if m["type"] in ROW_TYPES]
    assert stream.connects > first_run_connects  # it reconnected to the restarted service by itself
    assert [m["seq"] for m in rows] == list(range(1, len(rows) + 1)), "a row message lost or repeated"
    after = [m for m in rows if m["seq"] > first_run_last]
    assert any(m["type"] == "fill" for m in after), "no fill after the restart"
    assert "account" in {m["type"] for m in got}  # state messages share a row's number: not swallowed
    with Store(db, readonly=True) as store:
        for table, kind in (("fills", "fill"), ("trades", "trade"), ("signals", "signal")):
            assert sum(m["type"] == kind for m in rows) == len(store.rows(table)), table
