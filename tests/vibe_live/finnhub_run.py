"""Helpers for the Finnhub tests: the sample market as Finnhub frames, and the service in-process
against a :class:`~tests.fakes.finnhub_server.FakeFinnhub` until it has applied every delivered print."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import attrs
from tests.fakes.finnhub_server import FakeFinnhub, trade_message

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.events import Trade
from vibe_live.clock import ServiceClock
from vibe_live.feeds.finnhub import FinnhubFeed, finnhub_feed
from vibe_live.feeds.replay import frames_of, replay_prints
from vibe_live.logs import setup_logging
from vibe_live.service import ClockMode, LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

DAY = dt.date(2024, 7, 25)
KEY = "test-key"


def sample_frames(symbols: Sequence[str] = ("AAPL", "MSFT"), sessions: int = 1) -> list[list[Trade]]:
    """The sample market's bars as the prints of DESIGN §3, one frame per instant."""
    market = sample_market(list(symbols), sessions=calendar(), n_sessions=sessions, end=DAY)
    return list(frames_of(replay_prints(iter_bars(market))))


def texts(frames: Sequence[Sequence[Trade]]) -> list[str]:
    return [trade_message(f) for f in frames]


def settings_for(url: str, symbols: Sequence[str] = ("AAPL", "MSFT"), **data: object) -> Settings:
    base = Settings()
    fast = {
        "finnhub_url": url,
        "finnhub_api_key": KEY,
        "watchdog_seconds": 0.5,
        "reconnect_base_seconds": 0.05,
        "reconnect_cap_seconds": 0.2,
        "auth_backoff_seconds": 0.3,
        "warmup": False,
    }
    return attrs.evolve(
        base,
        core=attrs.evolve(base.core, symbols=tuple(symbols)),
        data=attrs.evolve(base.data, **{**fast, **data}),
    )


@attrs.define
class Run:
    service: LiveService
    feed: FinnhubFeed
    events: list[dict]  #: the log: seq, ts, kind, payload (decoded)
    logs: str

    def kinds(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]

    def prints(self) -> list[tuple[str, int, float, float]]:
        payloads = [e["payload"] for e in self.kinds("Trade")]
        return [(p["symbol"], p["ts"], p["price"], p["size"]) for p in payloads]


def run_live(
    tmp_path: Path,
    server: FakeFinnhub,
    *,
    symbols: Sequence[str] = ("AAPL", "MSFT"),
    expect: int | Callable[[LiveService], bool] | None = None,
    timeout: float = 30.0,
    db: str = "live.db",
    clock: ServiceClock | None = None,
    **data: object,
) -> Run:
    """The service (feed clock, or the wall ``clock`` given) on the fake server until it applied
    ``expect`` prints (default: all the server's; or until ``expect(service)``), then stopped as on
    SIGTERM."""
    out = io.StringIO()
    setup_logging(stream=out)
    settings = settings_for(server.url, symbols, **data)
    feeds: list[FinnhubFeed] = []

    def make(skip: int) -> FinnhubFeed:
        feeds.append(finnhub_feed(settings))
        return feeds[-1]

    if expect is None:
        expect = sum(len(json.loads(t)["data"]) for t in server.frames if json.loads(t)["type"] == "trade")
    done = expect if callable(expect) else lambda svc, n=expect: svc.prints >= n
    store = Store(tmp_path / db)
    try:
        mode: ClockMode = "feed" if clock is None else "wall"
        service = LiveService(
            settings, store, calendar(), make, feed_label="finnhub", clock_mode=mode, clock=clock
        )

        async def main() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(service.run)
                with anyio.fail_after(timeout):
                    while not done(service):
                        await anyio.sleep(0.01)
                service.stop("test")

        anyio.run(main)
        events = [{**r, "payload": json.loads(r["payload"])} for r in store.rows("events")]
    finally:
        store.close()
    return Run(service, feeds[0], events, out.getvalue())
