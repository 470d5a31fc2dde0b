"""Actions: what the core asks the shells to do or record. A closed union.

State: none: frozen, slotted attrs values.
Consumes: nothing (built by the engine's stages).
Emits: nothing (they are the engine's output, :data:`Action`).
Invariants: every instance passed its field checks (:mod:`vibe_core.checks`); :data:`Action` is
closed (the codec tags its members by class name).

``SubmitOrder``/``CancelOrder`` go to a broker; ``Notify`` to people; the rest are records the
shells persist and publish (fills, closed trades, evaluated signals, risk halts, feed gaps).
Like events, actions check their fields where they are built (:mod:`vibe_core.checks`). With the
built-in simulated venue, order events (accepted, rejected, filled, cancelled) are emitted as
records too, with the same classes an external broker sends back as events.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from vibe_core.checks import INF, field, finite, instance, name, reject, relation, text, timestamp
from vibe_core.events import Event, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Order, Signal, TradeRecord
from vibe_core.types import Severity

__all__ = [
    "SubmitOrder",
    "CancelOrder",
    "Notify",
    "TradeClosed",
    "SignalEvaluated",
    "RiskHalted",
    "EventRejected",
    "FeedGap",
    "Action",
    "ACTION_TYPES",
]


@attrs.frozen(kw_only=True)
class SubmitOrder:
    order: Order

    def __attrs_post_init__(self) -> None:
        if type(self.order) is not Order:
            reject(self, (instance("order", Order),))


@attrs.frozen(kw_only=True)
class CancelOrder:
    ts: int
    order_id: str
    reason: str

    def __attrs_post_init__(self) -> None:
        if not (
            type(self.ts) is int
            and type(self.order_id) is str
            and self.order_id != ""
            and type(self.reason) is str
        ):
            reject(self, (field("ts", timestamp), field("order_id", name), field("reason", text)))


@attrs.frozen(kw_only=True)
class Notify:
    ts: int
    severity: Severity
    title: str
    fields: tuple[tuple[str, str], ...] = ()

    def __attrs_post_init__(self) -> None:
        if not (type(self.ts) is int and type(self.severity) is Severity and type(self.title) is str):
            reject(self, (field("ts", timestamp), instance("severity", Severity), field("title", text)))


@attrs.frozen(kw_only=True)
class TradeClosed:
    trade: TradeRecord

    def __attrs_post_init__(self) -> None:
        if type(self.trade) is not TradeRecord:
            reject(self, (instance("trade", TradeRecord),))


@attrs.frozen(kw_only=True)
class SignalEvaluated:
    """A signal and its verdict: ``accepted`` with ``qty`` > 0, or not.

    ``reasons`` holds every check's verdict, passes included; ``vetoes`` only the failing ones.
    """

    signal: Signal
    accepted: bool
    qty: int
    reasons: tuple[str, ...] = ()
    vetoes: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        qty = self.qty
        if not (
            type(self.signal) is Signal
            and type(self.accepted) is bool
            and type(qty) is int
            and (qty > 0 if self.accepted else qty >= 0)
        ):
            reject(self, _SIGNAL_EVALUATED)


_SIGNAL_EVALUATED = (
    instance("signal", Signal),
    instance("accepted", bool),
    field("qty", lambda v: type(v) is int and v >= 0, "an int >= 0"),
    relation("qty", lambda e: e.qty > 0 or not e.accepted, "> 0 when accepted"),
)


@attrs.frozen(kw_only=True)
class RiskHalted:
    ts: int
    reason: str
    session_start_equity: float
    equity: float

    def __attrs_post_init__(self) -> None:
        try:
            ok = (
                type(self.ts) is int
                and type(self.reason) is str
                and -INF < self.session_start_equity < INF
                and -INF < self.equity < INF
            )
        except TypeError:
            ok = False
        if not ok:
            reject(self, _RISK_HALTED)


_RISK_HALTED = (
    field("ts", timestamp),
    field("reason", text),
    field("session_start_equity", finite),
    field("equity", finite),
)


@attrs.frozen(kw_only=True)
class EventRejected:
    """An event refused at the door (bad input from outside); the state is untouched but counted.

    ``reason`` is a short fixed phrase (the counter's key, e.g. "unknown order"), ``detail`` names
    the values involved.
    """

    ts: int
    event: Event
    reason: str
    detail: str = ""


@attrs.frozen(kw_only=True)
class FeedGap:
    """A stretch of the session in which a symbol's data (or the whole feed's) was missing.

    ``symbol`` is the silent symbol, or ``"*"`` for the whole feed (an outage between a
    ``FeedStatus`` down and the data after its up); ``start`` is the time of the last data before
    the silence (or the session open), ``end`` that of the first data after it (or the session
    close); ``reason`` is ``"stale"`` or ``"feed down: <why>"``. Emitted when the gap ends
    (:mod:`vibe_core.feedgate`). Checks: ``start <= end``.
    """

    symbol: str
    start: int
    end: int
    reason: str

    def __attrs_post_init__(self) -> None:
        if not (
            type(self.symbol) is str
            and self.symbol != ""
            and type(self.start) is int
            and type(self.end) is int
            and self.start <= self.end
            and type(self.reason) is str
        ):
            reject(self, _FEED_GAP)


_FEED_GAP = (
    field("symbol", name),
    field("start", timestamp),
    field("end", timestamp),
    relation("end", lambda g: g.end >= g.start, ">= start"),
    field("reason", text),
)


Action: TypeAlias = (
    SubmitOrder
    | CancelOrder
    | Notify
    | TradeClosed
    | SignalEvaluated
    | RiskHalted
    | EventRejected
    | FeedGap
    | OrderAccepted
    | OrderRejected
    | Filled
    | OrderCancelled
)
ACTION_TYPES: tuple[type, ...] = (
    SubmitOrder,
    CancelOrder,
    Notify,
    TradeClosed,
    SignalEvaluated,
    RiskHalted,
    EventRejected,
    FeedGap,
    OrderAccepted,
    OrderRejected,
    Filled,
    OrderCancelled,
)
