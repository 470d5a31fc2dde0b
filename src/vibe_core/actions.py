"""Actions: what the core asks the shells to do or record. A closed union.

``SubmitOrder``/``CancelOrder`` go to a broker; ``Notify`` to people; the rest are records the
shells persist and publish (fills, closed trades, evaluated signals, risk halts). With the
built-in simulated venue, order events (accepted, rejected, filled, cancelled) are emitted as
records too, with the same classes an external broker sends back as events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeAlias

import attrs

from vibe_core.events import Event, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.fastinit import fast_init
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
    "Action",
    "ACTION_TYPES",
]


@attrs.frozen(kw_only=True)
class SubmitOrder:
    order: Order


@attrs.frozen(kw_only=True)
class CancelOrder:
    ts: int
    order_id: str
    reason: str


@fast_init
@attrs.frozen(kw_only=True)
class Notify:
    make: ClassVar[Callable[..., Notify]]  #: ``Notify(...)`` as a plain call (fast_init)
    ts: int
    severity: Severity
    title: str
    fields: tuple[tuple[str, str], ...] = ()


@fast_init
@attrs.frozen(kw_only=True)
class TradeClosed:
    make: ClassVar[Callable[..., TradeClosed]]  #: ``TradeClosed(...)`` as a plain call (fast_init)
    trade: TradeRecord


@fast_init
@attrs.frozen(kw_only=True)
class SignalEvaluated:
    """A signal and its verdict: ``accepted`` with ``qty``, or not.

    ``reasons`` holds every check's verdict, passes included; ``vetoes`` only the failing ones.
    """

    make: ClassVar[Callable[..., SignalEvaluated]]  #: ``SignalEvaluated(...)`` as a plain call (fast_init)

    signal: Signal
    accepted: bool
    qty: int
    reasons: tuple[str, ...] = ()
    vetoes: tuple[str, ...] = ()


@fast_init
@attrs.frozen(kw_only=True)
class RiskHalted:
    ts: int
    reason: str
    session_start_equity: float
    equity: float


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


Action: TypeAlias = (
    SubmitOrder
    | CancelOrder
    | Notify
    | TradeClosed
    | SignalEvaluated
    | RiskHalted
    | EventRejected
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
    OrderAccepted,
    OrderRejected,
    Filled,
    OrderCancelled,
)
