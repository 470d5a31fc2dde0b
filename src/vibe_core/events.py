"""Events: everything that can happen to the core. A closed union dispatched with ``match``.

Market data (``Trade`` prints, ``Bar``s, or a ``BarSlice`` of several symbols' bars), time
(``Clock``), order events from an external broker and operator commands. Every event carries
``ts`` (exchange time, ns UTC); events from the live shell also carry ``ts_recv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import attrs

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


def _bar_maker() -> Callable[[str, Timeframe, int, float, float, float, float, float, str], Bar]:
    """A positional ``Bar`` constructor about twice as fast as ``Bar(...)``.

    attrs' frozen ``__init__`` binds ``object.__setattr__`` per field; this writes the slots
    directly. Safe because ``Bar`` has no validators, converters or init hooks (checked here, and
    ``tests/vibe_core/test_events.py`` compares it with the real constructor).
    """
    fields = attrs.fields(Bar)
    names = tuple(f.name for f in fields)
    plain = all(f.validator is None and f.converter is None for f in fields)
    if names != _BAR_FIELDS or not plain or hasattr(Bar, "__attrs_post_init__"):
        raise RuntimeError("Bar changed: update make_bar")
    sym, tf, ts_, op, hi, lo, cl, vo, src, recv = (Bar.__dict__[n].__set__ for n in names)
    new = object.__new__

    def make_bar(
        symbol: str, timeframe: Timeframe, ts: int, open: float, high: float, low: float, close: float,
        volume: float, source: str = "",
    ) -> Bar:  # fmt: skip
        bar: Bar = new(Bar)
        sym(bar, symbol)
        tf(bar, timeframe)
        ts_(bar, ts)
        op(bar, open)
        hi(bar, high)
        lo(bar, low)
        cl(bar, close)
        vo(bar, volume)
        src(bar, source)
        recv(bar, None)
        return bar

    return make_bar


_BAR_FIELDS = ("symbol", "timeframe", "ts", "open", "high", "low", "close", "volume", "source", "ts_recv")
make_bar = _bar_maker()

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
