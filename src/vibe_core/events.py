"""Events: everything that can happen to the core. A closed union dispatched with ``match``.

Market data (``Trade`` prints, ``Bar``s), time (``Clock``), order events from an external broker
and operator commands. Every event carries ``ts`` (exchange time, ns UTC); events from the live
shell also carry ``ts_recv``.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from vibe_core.models import Fill, Order
from vibe_core.types import Timeframe

__all__ = [
    "Trade",
    "Bar",
    "Clock",
    "OrderAccepted",
    "OrderRejected",
    "Filled",
    "OrderCancelled",
    "Pause",
    "Resume",
    "CloseAll",
    "Event",
    "MarketEvent",
    "EVENT_TYPES",
]


@attrs.frozen(kw_only=True)
class Trade:
    """One trade print."""

    symbol: str
    ts: int
    price: float
    size: float
    ts_recv: int | None = None


@attrs.frozen(kw_only=True)
class Bar:
    """An OHLCV bar stamped at its open; complete (closed) when it is an event.

    ``source`` names the feed ("yahoo", "finnhub", "self"), so volume rules compare a bar only
    with bars of the same source.
    """

    symbol: str
    timeframe: Timeframe
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    source: str = ""
    ts_recv: int | None = None

    @property
    def end(self) -> int:
        """Nominal end (exclusive) of the bar's interval."""
        return self.ts + self.timeframe.ns


@attrs.frozen(kw_only=True)
class Clock:
    """Time advanced to ``ts``: closes due bars, opens/closes sessions, triggers the flatten."""

    ts: int


@attrs.frozen(kw_only=True)
class OrderAccepted:
    """The venue accepted an order; the simulated venue attaches the full ``order``.

    External brokers may send only the id.
    """

    ts: int
    order_id: str
    order: Order | None = None


@attrs.frozen(kw_only=True)
class OrderRejected:
    ts: int
    order_id: str
    symbol: str
    reason: str


@attrs.frozen(kw_only=True)
class Filled:
    ts: int
    fill: Fill


@attrs.frozen(kw_only=True)
class OrderCancelled:
    ts: int
    order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class Pause:
    """Operator command: no new entries until ``Resume``; exits still work."""

    ts: int
    reason: str = "operator"


@attrs.frozen(kw_only=True)
class Resume:
    ts: int


@attrs.frozen(kw_only=True)
class CloseAll:
    """Operator command: cancel working orders and flatten every position now."""

    ts: int
    reason: str = "operator"


MarketEvent: TypeAlias = Trade | Bar
Event: TypeAlias = (
    Trade | Bar | Clock | OrderAccepted | OrderRejected | Filled | OrderCancelled | Pause | Resume | CloseAll
)
EVENT_TYPES: tuple[type, ...] = (
    Trade,
    Bar,
    Clock,
    OrderAccepted,
    OrderRejected,
    Filled,
    OrderCancelled,
    Pause,
    Resume,
    CloseAll,
)
