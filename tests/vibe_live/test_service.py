"""The service in-process: the wall clock closes bars on time when every symbol is silent (and logs the
same events as the feed clock), the read model, and the log line when the market is closed."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import AsyncIterator

import anyio
import attrs
import pytest

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.calendar import datetime_to_ns
from vibe_core.snapshot import EngineSnapshot
from vibe_live.clock import ReplayClock
from vibe_live.feeds import Frame
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.logs import NEW_YORK, setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

DAY = dt.date(2024, 7, 25)


def at(hhmm: str) -> int:
    h, m = map(int, hhmm.split(":"))
    return datetime_to_ns(dt.datetime(DAY.year, DAY.month, DAY.day, h, m, tzinfo=NEW_YORK))


@pytest.fixture(scope="module")
def gapped():
    """One session of AAPL and MSFT, 09:30-10:00 and 10:30-11:00: every symbol silent in between."""
    market = sample_market(["AAPL", "MSFT"], sessions=calendar(), n_sessions=1, end=DAY)
    return [
        b for b in iter_bars(market) if at("09:30") <= b.ts < at("10:00") or at("10:30") <= b.ts < at("11:00")
    ]


def make(tmp_path, bars, name, **kwargs):
    settings = Settings()
    settings = attrs.evolve(
        settings,
        core=attrs.evolve(settings.core, symbols=("AAPL", "MSFT")),
        # a late print's grace of 90 s of feed time (30 ms of wall time at 3000x): the wall clock's
        # Clock at a bar close must not overtake the print due at that instant on a loaded machine;
        # under the 100 s between a bar's price points, so no later print comes first either
        service=attrs.evolve(settings.service, clock_grace_ms=90_000),
    )
    store = Store(tmp_path / name)
    close = calendar().session_at(bars[-1].ts).close
    feed = lambda skip: ReplayFeed(bars, skip=skip)  # noqa: E731
    service = LiveService(settings, store, calendar(), feed, feed_label="t", last_close=close, **kwargs)
    return service, store


def test_the_wall_clock_closes_bars_when_every_symbol_is_silent_as_the_feed_clock_does(tmp_path, gapped):
    setup_logging(stream=io.StringIO())
    runs = {}
    for mode, kwargs in (("feed", {}), ("wall", {"clock": ReplayClock(3_000.0)})):
        service, store = make(tmp_path, gapped, f"{mode}.db", clock_mode=mode, **kwargs)
        anyio.run(service.run)
        runs[mode] = [(r["kind"], r["ts"]) for r in store.rows("events")]
        store.close()
    assert runs["wall"] == runs["feed"]
    clocks = [ts for kind, ts in runs["feed"] if kind == "Clock"]
    assert at("10:00") in clocks  # the 09:55 bars closed on time, no print needed
    assert clocks[-1] == calendar().session_at(at("10:00")).close


def test_the_read_model_is_swapped_once_per_step(tmp_path, gapped):
    service, store = make(tmp_path, gapped, "v.db", clock_mode="feed")
    first = service.view
    assert isinstance(first, EngineSnapshot) and service.view is first  # no step: the same object
    anyio.run(service.run)
    after = service.view
    assert after is not first and after.ts == service.journal.state.now and after is service.view
    assert after.session_open is False
    store.close()


class Silent:
    """A live feed on a day off: nothing arrives."""

    async def frames(self) -> AsyncIterator[Frame]:
        await anyio.sleep(math.inf)
        yield []


class Saturday:
    def __init__(self) -> None:
        self.ts = datetime_to_ns(dt.datetime(2024, 7, 27, 12, 0, tzinfo=NEW_YORK))

    def now(self) -> int:
        return self.ts

    def seconds_until(self, ts: int) -> float:
        return (ts - self.ts) / 1e9


def test_outside_market_hours_it_says_until_when_it_sleeps(tmp_path):
    out = io.StringIO()
    setup_logging(stream=out)
    store = Store(tmp_path / "s.db")
    service = LiveService(
        Settings(),
        store,
        calendar(),
        lambda skip: Silent(),
        feed_label="live",
        clock_mode="wall",
        clock=Saturday(),
    )

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.run)
            await anyio.sleep(0.3)
            service.stop("test")

    anyio.run(main)
    text = out.getvalue()
    assert "market closed until=2024-07-29T09:30:00-04:00 sleeping=45.5 h" in text
    assert [r["kind"] for r in store.rows("events")] == ["Clock"]  # the time it started, logged
    store.close()
