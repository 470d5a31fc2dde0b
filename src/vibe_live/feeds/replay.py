"""The replay feed: stored 5m bars played back as the trade prints a live feed would send.

Each bar becomes the four points of DESIGN §3 (open, the extreme nearer the open, the other
extreme, close at +0 s, +100 s, +200 s, +299 s of a 5m bar), each a print of a quarter of the
bar's volume: exactly the path the backtester matches the bar against, so a replayed session and
a backtest of the same bars are the same computation. Prints are merged across symbols in time
order (at equal times, in the order the bars came); one frame holds the prints of one instant.

Pacing: ``speed=None`` plays as fast as the consumer takes frames (time is the prints' time);
``speed=X`` sleeps so that feed time runs X times faster than the wall clock from the first frame.
``skip=N`` drops the first N prints: a restarted service resumes after what it already logged.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import AsyncGenerator, Iterable, Iterator

import anyio

from vibe_core.events import Bar, Trade
from vibe_core.sim.points import bar_points
from vibe_live.feeds import FeedHealth, Frame

__all__ = ["bar_prints", "replay_prints", "frames_of", "ReplayFeed"]


def bar_prints(bar: Bar) -> list[Trade]:
    """The four prints of ``bar`` (the venue's own points of that bar, as prints)."""
    return [Trade(symbol=bar.symbol, ts=p.ts, price=p.price, size=p.liquidity) for p in bar_points(bar)]


def replay_prints(bars: Iterable[Bar]) -> Iterator[Trade]:
    """The prints of time-ordered ``bars``, merged into one time-ordered stream.

    A bar's prints lie inside its interval, so they are complete before any later-opening bar
    begins; a small heap merges the prints of the bars that open together (stable: ties keep the
    bars' order).
    """
    heap: list[tuple[int, int, Trade]] = []
    counter = itertools.count()
    for bar in bars:
        while heap and heap[0][0] < bar.ts:
            yield heapq.heappop(heap)[2]
        for trade in bar_prints(bar):
            heapq.heappush(heap, (trade.ts, next(counter), trade))
    while heap:
        yield heapq.heappop(heap)[2]


def frames_of(prints: Iterable[Trade]) -> Iterator[list[Trade]]:
    """Group consecutive prints of one instant into a frame."""
    for _, group in itertools.groupby(prints, key=lambda t: t.ts):
        yield list(group)


class ReplayFeed:
    """A :class:`~vibe_live.feeds.MarketFeed` over stored bars."""

    def __init__(self, bars: Iterable[Bar], *, speed: float | None = None, skip: int = 0) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"replay speed must be > 0, got {speed!r}")
        if skip < 0:
            raise ValueError(f"skip must be >= 0, got {skip!r}")
        self._bars = bars
        self.speed = speed
        self.skip = skip
        self.sent = 0  #: prints yielded so far, counting the skipped ones (the resume position)
        self.health = FeedHealth(connected=True)  #: a replay is always connected

    def _prints(self) -> Iterator[Trade]:
        prints = replay_prints(self._bars)
        if self.skip:
            prints = itertools.islice(prints, self.skip, None)
            self.sent = self.skip
        return prints

    async def frames(self) -> AsyncGenerator[Frame, None]:
        start_wall: float | None = None
        start_feed = 0
        for frame in frames_of(self._prints()):
            if self.speed is not None:
                if start_wall is None:
                    start_wall, start_feed = time.monotonic(), frame[0].ts
                due = start_wall + (frame[0].ts - start_feed) / 1e9 / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await anyio.sleep(delay)
            self.sent += len(frame)
            yield frame
