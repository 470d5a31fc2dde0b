"""Market feeds: where the live shell's market data comes from.

A feed yields *frames*: the prints that arrived together (one Finnhub WebSocket message, or the
prints of one instant of a replay). The service logs each frame in one transaction before it
applies any of its prints, so a frame is the unit of durability. The feed's connection changes are
frames of their own, ``[FeedStatus(...)]`` (never mixed with prints), logged like prints; the
service stamps a ``FeedStatus`` with its own time before logging it (the feed's ``ts`` is the wall
time it saw the change, kept as ``ts_recv``).

Implementations: :class:`~vibe_live.feeds.replay.ReplayFeed` (stored bars as prints, offline; always
connected, no status frames) and :class:`~vibe_live.feeds.finnhub.FinnhubFeed` (the live stream).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol, TypeAlias

from vibe_core.events import FeedStatus, Trade
from vibe_live.feeds.health import FeedHealth

__all__ = ["FeedHealth", "Frame", "MarketFeed", "PrintFrame"]

Frame: TypeAlias = Sequence[Trade | FeedStatus]


class PrintFrame(list[Trade]):
    """A frame of prints with their trade-condition codes beside them (``conditions[i]`` for print i),
    which the service logs with the prints (the core has no use for them)."""

    __slots__ = ("conditions",)

    def __init__(self, trades: Sequence[Trade], conditions: Sequence[tuple[str, ...]]) -> None:
        super().__init__(trades)
        self.conditions = list(conditions)


class MarketFeed(Protocol):
    """A source of print frames in arrival order, with its :class:`FeedHealth`."""

    health: FeedHealth

    def frames(self) -> AsyncGenerator[Frame, None]:
        """The frames, in order; ends when the feed is exhausted (a replay), never for a live feed."""
        ...
