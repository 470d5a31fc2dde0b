"""Events: everything that can happen to the core. A closed union dispatched with ``match``.

Market data (``Trade`` prints, ``Bar``s, or a ``BarSlice`` of several symbols' bars), time
(``Clock``), order events from an external broker and operator commands. Every event carries
``ts`` (exchange time, ns UTC); events from the live shell also carry ``ts_recv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import attrs

from vibe_core.fastinit import fast_init
from vibe_core.models import Fill, Order
from vibe_core.types import Timeframe

__all__ = [
    "Trade",
    "Bar",
    "BarSlice",
    "make_bar",
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


@fast_init
@attrs.frozen(kw_only=True)
class Trade:
    """One trade print."""

    symbol: str
    ts: int
    price: float
    size: float
    ts_recv: int | None = None


@fast_init
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


def _as_tuple(bars: Iterable[Bar]) -> tuple[Bar, ...]:
    return tuple(bars)


def _same_open(inst: BarSlice, _attribute: attrs.Attribute[tuple[Bar, ...]], bars: tuple[Bar, ...]) -> None:
    for bar in bars:
        if bar.ts != inst.ts:
            raise ValueError(
                f"bar slice at {inst.ts}: {bar.symbol} {bar.timeframe.label} bar opens at {bar.ts}"
            )


@attrs.frozen(kw_only=True)
class BarSlice:
    """Bar mode's time step: the complete bars of several symbols that open at ``ts``.

    Exactly the same as its bars given one by one as ``Bar`` events, in order; a backtest sends
    one event per interval instead of one per symbol.
    """

    ts: int
    bars: tuple[Bar, ...] = attrs.field(converter=_as_tuple, validator=_same_open)


@attrs.frozen(kw_only=True)
class Clock:
    """Time advanced to ``ts``: closes due bars, opens/closes sessions, triggers the flatten."""

    ts: int


@fast_init
@attrs.frozen(kw_only=True)
class OrderAccepted:
    """The venue accepted an order; the simulated venue attaches the full ``order``.

    External brokers may send only the id.
    """

    make: ClassVar[Callable[..., OrderAccepted]]  #: ``OrderAccepted(...)`` as a plain call (fast_init)

    ts: int
    order_id: str
    order: Order | None = None


@fast_init
@attrs.frozen(kw_only=True)
class OrderRejected:
    ts: int
    order_id: str
    symbol: str
    reason: str


@fast_init
@attrs.frozen(kw_only=True)
class Filled:
    make: ClassVar[Callable[..., Filled]]  #: ``Filled(...)`` as a plain call (fast_init)
    ts: int
    fill: Fill


@fast_init
@attrs.frozen(kw_only=True)
class OrderCancelled:
    make: ClassVar[Callable[..., OrderCancelled]]  #: ``OrderCancelled(...)`` as a plain call (fast_init)
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


if TYPE_CHECKING:

    def make_bar(
        symbol: str, timeframe: Timeframe, ts: int, open: float, high: float, low: float,
        close: float, volume: float, source: str = "", ts_recv: int | None = None,
    ) -> Bar:  # fmt: skip
        """``Bar(...)`` with positional arguments and no ``__init__`` call (bars are made per
        input row): ``Bar.make`` (:func:`~vibe_core.fastinit.fast_init`), typed here."""
        ...
else:
    make_bar = Bar.make

MarketEvent: TypeAlias = Trade | Bar | BarSlice
Event: TypeAlias = (
    Trade
    | Bar
    | BarSlice
    | Clock
    | OrderAccepted
    | OrderRejected
    | Filled
    | OrderCancelled
    | Pause
    | Resume
    | CloseAll
)
EVENT_TYPES: tuple[type, ...] = (
    Trade,
    Bar,
    BarSlice,
    Clock,
    OrderAccepted,
    OrderRejected,
    Filled,
    OrderCancelled,
    Pause,
    Resume,
    CloseAll,
)
