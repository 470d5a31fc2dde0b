"""Events: everything that can happen to the core. A closed union dispatched with ``match``.

Market data (``Trade`` prints, ``Bar``s, or a ``BarSlice`` of several symbols' bars), time
(``Clock``), order events from an external broker and operator commands. Every event carries
``ts`` (exchange time, ns UTC); events from the live shell also carry ``ts_recv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

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


@attrs.define(kw_only=True)
class _BarFields:
    """The fields of ``Bar`` in a plain slotted class: :func:`make_bar` fills a new bar at slot speed."""

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


@attrs.frozen(kw_only=True)
class Bar(_BarFields):
    """An OHLCV bar stamped at its open; complete (closed) when it is an event.

    ``source`` names the feed ("yahoo", "finnhub", "self"), so volume rules compare a bar only
    with bars of the same source.
    """

    @property
    def end(self) -> int:
        """Nominal end (exclusive) of the bar's interval."""
        return self.ts + self.timeframe.ns


class _NewBar(_BarFields):
    """A bar being filled in by :func:`make_bar`; same layout as ``Bar``, no frozen ``__setattr__``."""

    __slots__ = ()


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
    ts: int
    fill: Fill


@fast_init
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


def make_bar(
    symbol: str, timeframe: Timeframe, ts: int, open: float, high: float, low: float, close: float,
    volume: float, source: str = "",
) -> Bar:  # fmt: skip
    """``Bar(...)`` with positional arguments, about four times as fast (bars are made per input row).

    attrs' frozen ``__init__`` sets each field through ``object.__setattr__`` (a C call with an
    argument tuple, ~0.15 us each); here the fields are stored into a ``_NewBar`` at slot speed
    and the object then becomes a ``Bar``: the two classes add nothing to the slots of their common
    base, so CPython allows the ``__class__`` change. Safe because ``Bar`` has no validators,
    converters or init hooks (checked at import; ``tests/vibe_core/test_events.py`` compares the
    result with the real constructor).
    """
    bar = _new(_NewBar)
    bar.symbol = symbol
    bar.timeframe = timeframe
    bar.ts = ts
    bar.open = open
    bar.high = high
    bar.low = low
    bar.close = close
    bar.volume = volume
    bar.source = source
    bar.ts_recv = None
    bar.__class__ = Bar  # type: ignore[assignment]
    return bar  # type: ignore[return-value]


def _check_bar_maker() -> None:
    fields = attrs.fields(Bar)
    plain = all(f.validator is None and f.converter is None for f in fields)
    names = tuple(f.name for f in fields)
    if names != _BAR_FIELDS or not plain or hasattr(Bar, "__attrs_post_init__") or Bar.__slots__:
        raise RuntimeError("Bar changed: update make_bar")


_new = object.__new__
_BAR_FIELDS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "source", "ts_recv")
_check_bar_maker()

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
