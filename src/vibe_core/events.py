"""Events: everything that can happen to the core. A closed union dispatched with ``match``.

State: none: frozen, slotted attrs values.
Consumes: nothing (built by shells, feeds, brokers and tests).
Emits: nothing (they are the input of :func:`vibe_core.engine.step`).
Invariants: every instance passed its field checks; :data:`Event` is closed (``step`` matches
every member, ``assert_never`` on the rest); ``ts`` is ns UTC and ``ts_recv`` is ``None`` or
an int.

Market data (``Trade`` prints, ``Bar``s, or a ``BarSlice`` of several symbols' bars), time
(``Clock``), order events from an external broker and operator commands. Every event carries
``ts`` (exchange time, ns UTC) and may carry ``ts_recv`` (when the live shell received it).

Every event checks its fields where it is built, so a malformed one never reaches ``step``: prices
finite and > 0, sizes and volumes finite and >= 0, a bar's high at or above its open and close and
its low at or below them, a known ``Timeframe``, non-empty symbols and ids, int timestamps. A bad
field is a ``ValueError`` naming the class, the field and the value (:mod:`vibe_core.checks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import attrs

from vibe_core.checks import (
    INF,
    field,
    instance,
    name,
    optional_timestamp,
    price,
    reject,
    relation,
    size,
    text,
    timestamp,
)
from vibe_core.models import Fill, Order
from vibe_core.types import Timeframe

__all__ = [
    "Trade",
    "Bar",
    "BarSlice",
    "Clock",
    "OrderAccepted",
    "OrderRejected",
    "Filled",
    "OrderCancelled",
    "Pause",
    "Resume",
    "CloseAll",
    "FeedStatus",
    "Event",
    "MarketEvent",
    "EVENT_TYPES",
]

_TS = field("ts", timestamp)
_TS_RECV = field("ts_recv", optional_timestamp)


@attrs.frozen(kw_only=True)
class Trade:
    """One trade print: ``price`` finite and > 0, ``size`` finite and >= 0."""

    symbol: str
    ts: int
    price: float
    size: float
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        recv = self.ts_recv
        try:
            ok = (
                type(self.symbol) is str and self.symbol != "" and type(self.ts) is int
                and 0.0 < self.price < INF and 0.0 <= self.size < INF
                and (recv is None or type(recv) is int)
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _TRADE)


_TRADE = (field("symbol", name), _TS, field("price", price), field("size", size), _TS_RECV)


@attrs.frozen(kw_only=True)
class Bar:
    """An OHLCV bar stamped at its open; complete (closed) when it is an event.

    ``source`` names the feed ("yahoo", "finnhub", "self"), so volume rules compare a bar only
    with bars of the same source. Checks: prices finite and > 0 with
    ``low <= min(open, close)`` and ``high >= max(open, close)``; ``volume`` finite and >= 0.
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

    def __attrs_post_init__(self) -> None:
        low, high, recv = self.low, self.high, self.ts_recv
        try:
            ok = (
                0.0 < low <= self.open <= high < INF and low <= self.close <= high
                and 0.0 <= self.volume < INF
                and type(self.symbol) is str and self.symbol != "" and type(self.timeframe) is Timeframe
                and type(self.ts) is int and type(self.source) is str and (recv is None or type(recv) is int)
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _BAR)

    @property
    def end(self) -> int:
        """Nominal end (exclusive) of the bar's interval."""
        return self.ts + self.timeframe.ns


_BAR = (
    field("symbol", name),
    instance("timeframe", Timeframe),
    _TS,
    field("open", price),
    field("high", price),
    field("low", price),
    field("close", price),
    relation("high", lambda b: b.high >= b.open and b.high >= b.close, ">= open and close"),
    relation("low", lambda b: b.low <= b.open and b.low <= b.close, "<= open and close"),
    field("volume", size),
    field("source", text),
    _TS_RECV,
)


def _as_tuple(bars: Iterable[Bar]) -> tuple[Bar, ...]:
    return tuple(bars)


@attrs.frozen(kw_only=True)
class BarSlice:
    """Bar mode's time step: the complete bars of several symbols that open at ``ts``.

    Exactly the same as its bars given one by one as ``Bar`` events, in order; a backtest sends
    one event per interval instead of one per symbol.
    """

    ts: int
    bars: tuple[Bar, ...] = attrs.field(converter=_as_tuple)
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        ts, recv = self.ts, self.ts_recv
        if not (type(ts) is int and (recv is None or type(recv) is int)):
            reject(self, (_TS, _TS_RECV))
        for bar in self.bars:
            if type(bar) is not Bar:
                raise ValueError(f"BarSlice.bars must hold Bars, got {bar!r}")
            if bar.ts != ts:
                tf = bar.timeframe.label
                raise ValueError(f"BarSlice.bars: bar slice at {ts}: {bar.symbol} {tf} bar opens at {bar.ts}")


@attrs.frozen(kw_only=True)
class Clock:
    """Time advanced to ``ts``: closes due bars, opens/closes sessions, triggers the flatten."""

    ts: int
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        if not (type(self.ts) is int and (self.ts_recv is None or type(self.ts_recv) is int)):
            reject(self, (_TS, _TS_RECV))


@attrs.frozen(kw_only=True)
class OrderAccepted:
    """The venue accepted an order; the simulated venue attaches the full ``order``.

    External brokers may send only the id; an attached order has that id.
    """

    ts: int
    order_id: str
    order: Order | None = None
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        order, recv = self.order, self.ts_recv
        if not (
            type(self.ts) is int
            and type(self.order_id) is str
            and self.order_id != ""
            and (order is None or (type(order) is Order and order.id == self.order_id))
            and (recv is None or type(recv) is int)
        ):
            reject(self, _ORDER_ACCEPTED)


_ORDER_ACCEPTED = (
    _TS,
    field("order_id", name),
    relation(
        "order",
        lambda e: e.order is None or (type(e.order) is Order and e.order.id == e.order_id),
        "None or the Order with id order_id",
    ),
    _TS_RECV,
)


@attrs.frozen(kw_only=True)
class OrderRejected:
    ts: int
    order_id: str
    symbol: str
    reason: str
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        if not (
            type(self.ts) is int
            and type(self.order_id) is str
            and self.order_id != ""
            and type(self.symbol) is str
            and self.symbol != ""
            and type(self.reason) is str
            and (self.ts_recv is None or type(self.ts_recv) is int)
        ):
            reject(self, _ORDER_REJECTED)


_ORDER_REJECTED = (_TS, field("order_id", name), field("symbol", name), field("reason", text), _TS_RECV)


@attrs.frozen(kw_only=True)
class Filled:
    ts: int
    fill: Fill
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        if not (
            type(self.ts) is int
            and type(self.fill) is Fill
            and (self.ts_recv is None or type(self.ts_recv) is int)
        ):
            reject(self, _FILLED)


_FILLED = (_TS, instance("fill", Fill), _TS_RECV)


@attrs.frozen(kw_only=True)
class OrderCancelled:
    ts: int
    order_id: str
    reason: str
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        if not (
            type(self.ts) is int
            and type(self.order_id) is str
            and self.order_id != ""
            and type(self.reason) is str
            and (self.ts_recv is None or type(self.ts_recv) is int)
        ):
            reject(self, _ORDER_CANCELLED)


_ORDER_CANCELLED = (_TS, field("order_id", name), field("reason", text), _TS_RECV)


@attrs.frozen(kw_only=True)
class Pause:
    """Operator command: no new entries until ``Resume``; exits still work."""

    ts: int
    reason: str = "operator"
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_command(self, self.ts, self.reason, self.ts_recv)


@attrs.frozen(kw_only=True)
class Resume:
    ts: int
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_command(self, self.ts, "", self.ts_recv)


@attrs.frozen(kw_only=True)
class CloseAll:
    """Operator command: cancel working orders and flatten every position now."""

    ts: int
    reason: str = "operator"
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_command(self, self.ts, self.reason, self.ts_recv)


@attrs.frozen(kw_only=True)
class FeedStatus:
    """The shell's observation of its market-data connection: up (``connected``) or down.

    A backtest has none (its feed is always up). The core takes no new entry while the feed is down;
    exits, stops and the flatten are never blocked. ``reason`` says why (``"closed by server"``,
    ``"watchdog: silent 150 s"``, ``"401 bad key"``...).
    """

    ts: int
    connected: bool
    reason: str = ""
    ts_recv: int | None = None

    def __attrs_post_init__(self) -> None:
        if type(self.connected) is not bool:
            rules = (_TS, field("connected", _is_bool, "a bool"), field("reason", text), _TS_RECV)
            reject(self, rules)
        _check_command(self, self.ts, self.reason, self.ts_recv)


def _is_bool(v: object) -> bool:
    return type(v) is bool


def _check_command(
    event: Pause | Resume | CloseAll | FeedStatus, ts: object, reason: object, recv: object
) -> None:
    if not (type(ts) is int and type(reason) is str and (recv is None or type(recv) is int)):
        rules = (_TS, _TS_RECV) if isinstance(event, Resume) else (_TS, field("reason", text), _TS_RECV)
        reject(event, rules)


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
    | FeedStatus
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
    FeedStatus,
)
