"""Helpers for the API tests: a service replaying the sample market with the API on a free port.

:class:`HoldFeed` replays stored bars as prints and then stays connected with nothing more to say
(as a live feed on a quiet market): the service keeps running and its state stops changing, so a
test can compare the API with the store. ``stop_after`` ends the replay early (a restart resumes
from the log's print count, as the service does).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.events import Bar
from vibe_live.api.live import LiveApi, attach_api
from vibe_live.clock import ReplayClock
from vibe_live.feeds import Frame
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

SYMBOLS = ("AAPL", "MSFT")
KEY = "test-key-123"
END = dt.date(2024, 7, 26)


def sample_bars(n_sessions: int = 6) -> list[Bar]:
    market = sample_market(list(SYMBOLS), sessions=calendar(), n_sessions=n_sessions, end=END)
    return list(iter_bars(market))


def settings(**api: Any) -> Settings:
    """Two symbols, no multi-timeframe validation (a few sessions give trades), the test key."""
    base = Settings()
    core = attrs.evolve(
        base.core, symbols=SYMBOLS, validation=attrs.evolve(base.core.validation, enabled=False)
    )
    return attrs.evolve(base, core=core, api=attrs.evolve(base.api, **{"api_key": KEY, **api}))


class HoldFeed:
    """Replay ``bars`` (after ``skip`` prints, at most ``stop_after`` frames), then stay silent."""

    def __init__(self, bars: Sequence[Bar], skip: int, stop_after: int | None = None) -> None:
        self.inner = ReplayFeed(bars, skip=skip)
        self.health = self.inner.health
        self.stop_after = stop_after
        self.done = anyio.Event()

    async def frames(self) -> AsyncIterator[Frame]:
        n = 0
        async for frame in self.inner.frames():
            if self.stop_after is not None and n >= self.stop_after:
                break
            n += 1
            yield frame
        self.done.set()
        await anyio.sleep(math.inf)
        yield []


@asynccontextmanager
async def serving(
    db: Path,
    bars: Sequence[Bar],
    *,
    stop_after: int | None = None,
    wait: bool = True,
    speed: float | None = None,
    **api: Any,
) -> AsyncIterator[tuple[LiveService, LiveApi, HoldFeed]]:
    """The service on ``db`` with the API on 127.0.0.1:<free port>; ``wait``: until the replay is done.

    ``speed``: the wall clock at ``speed`` x real time (``--clock wall``); default the feed's clock."""
    store = Store(db)
    feeds: list[HoldFeed] = []

    def make(skip: int) -> HoldFeed:
        feeds.append(HoldFeed(bars, skip, stop_after))
        return feeds[-1]

    try:
        if speed is None:
            service = LiveService(
                settings(**api), store, calendar(), make, feed_label="replay test", clock_mode="feed"
            )
        else:
            service = LiveService(
                settings(**api), store, calendar(), make, feed_label="replay test", clock=ReplayClock(speed)
            )
        live = attach_api(service, port=0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.run)
            while not live.server.server.started:
                await anyio.sleep(0.01)
            if wait:
                with anyio.fail_after(60):
                    await feeds[0].done.wait()
                    while len(service.commands) or service.journal.state.now == 0:
                        await anyio.sleep(0.01)
                await anyio.sleep(0.05)  # the last step's dispatch and the hub's publish
            yield service, live, feeds[0]
            service.stop("test over")
    finally:
        store.close()
