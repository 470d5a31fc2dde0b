"""Market feeds: where the live shell's market data comes from.

A feed yields *frames*: the prints that arrived together (one Finnhub WebSocket message, or the
prints of one instant of a replay). The service logs each frame in one transaction before it
applies any of its prints, so a frame is the unit of durability. Feed status (connected,
disconnected, a symbol gone stale) is reported by the feed as its own events, logged like prints.

Implementations: :class:`~vibe_live.feeds.replay.ReplayFeed` (stored bars as prints, offline);
the Finnhub client (next issue) implements the same protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, TypeAlias

from vibe_core.events import Trade
from vibe_live.feeds.health import FeedHealth

__all__ = ["FeedHealth", "Frame", "MarketFeed"]

Frame: TypeAlias = Sequence[Trade]


class MarketFeed(Protocol):
    """A source of print frames in arrival order, with its :class:`FeedHealth`."""

    health: FeedHealth

    def frames(self) -> AsyncIterator[Frame]:
        """The frames, in order; ends when the feed is exhausted (a replay), never for a live feed."""
        ...
