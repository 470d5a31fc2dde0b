"""The book of what the engine asked an external broker for, reconciled against its events.

State: :class:`BrokerBook`: every order sent this session (and working ones from before), with its
status (moved only through :func:`vibe_core.orders.transition`) and filled quantity, plus the
bracket legs the broker announced for a filled parent.
Consumes: orders the engine sends (:meth:`BrokerBook.add`), the broker's ``OrderAccepted`` /
``OrderRejected`` / ``OrderCancelled`` / ``Filled`` (:meth:`BrokerBook.check`, then
:meth:`BrokerBook.apply`), session opens (:meth:`BrokerBook.prune`).
Emits: nothing; :meth:`BrokerBook.check` names why an event cannot be applied (the engine
refuses it with an ``EventRejected`` record).
Invariants: an order never fills more than its quantity; a finished order (filled, cancelled,
rejected) takes no further event; a leg is known only as ``<parent>-sl`` / ``<parent>-tp`` (with
``-<n>`` for the n-th pair of a partially filled parent, the simulated venue's names) of a known
bracket parent that has filled.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from vibe_core.codec import structure, unstructure
from vibe_core.errors import InvariantViolation
from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Order
from vibe_core.orders import is_terminal, transition
from vibe_core.types import OrderStatus

__all__ = ["BrokerBook", "BrokerOrder", "BrokerEvent", "order_id_of"]

BrokerEvent = OrderAccepted | OrderRejected | OrderCancelled | Filled


def order_id_of(event: BrokerEvent) -> str:
    return event.fill.order_id if isinstance(event, Filled) else event.order_id


_LEG = re.compile(r"^(?P<parent>.+)-(?:sl|tp)(?:-\d+)?$")


@attrs.define
class BrokerOrder:
    order: Order
    status: OrderStatus
    filled: int = 0

    @property
    def remaining(self) -> int:
        return self.order.qty - self.filled


@attrs.define
class BrokerBook:
    orders: dict[str, BrokerOrder] = attrs.Factory(dict)  #: id -> order, in submission order

    def add(self, order: Order) -> None:
        """An order the engine is sending (``SubmitOrder``): pending until the broker answers."""
        self.orders[order.id] = BrokerOrder(order=order, status=OrderStatus.PENDING)

    def working(self) -> list[Order]:
        """Orders not finished yet (pending, accepted or partly filled), in submission order."""
        return [o.order for o in self.orders.values() if not is_terminal(o.status)]

    def prune(self) -> None:
        """Forget finished orders (a session open: the broker sends nothing more about them)."""
        self.orders = {k: o for k, o in self.orders.items() if not is_terminal(o.status)}

    # -- the broker's events -----------------------------------------------------------------

    def check(self, event: BrokerEvent) -> tuple[str, str] | None:
        """``(reason, detail)`` when ``event`` cannot apply to this book, else ``None``. Pure."""
        order_id = order_id_of(event)
        known = self.orders.get(order_id)
        if known is None:
            if isinstance(event, OrderAccepted) and event.order is not None:
                return self._check_leg(order_id, event.order)
            return "unknown order", f"no order {order_id!r} was sent to the broker"
        status = known.status
        if isinstance(event, OrderAccepted | OrderRejected):
            if status is not OrderStatus.PENDING:
                return "order not pending", f"{order_id} is {status.value}"
            return None
        if is_terminal(status):
            return "order not working", f"{order_id} is {status.value}"
        if isinstance(event, OrderCancelled):
            return None
        fill = event.fill
        order = known.order
        if fill.symbol != order.symbol or fill.side is not order.side:
            return "fill does not match order", (
                f"fill {fill.symbol} {fill.side.value} for {order.id} ({order.symbol} {order.side.value})"
            )
        if fill.qty <= 0 or fill.qty > known.remaining:
            return "fill above remaining", f"fill of {fill.qty} for {order.id}, {known.remaining} remaining"
        if not (0.0 < fill.price < math.inf and math.isfinite(fill.fee)):
            return "invalid fill", f"fill of {order.id} at {fill.price!r}, fee {fill.fee!r}"
        return None

    def _check_leg(self, order_id: str, leg: Order) -> tuple[str, str] | None:
        match = _LEG.match(order_id)
        parent = None if match is None else self.orders.get(match["parent"])
        if (
            parent is None
            or leg.id != order_id
            or leg.parent_id != parent.order.id
            or leg.symbol != parent.order.symbol
            or parent.filled <= 0
            or (parent.order.stop_loss is None and parent.order.take_profit is None)
        ):
            return "unknown order", f"no order {order_id!r} was sent, nor is it a leg of a filled bracket"
        return None

    def apply(self, event: BrokerEvent) -> None:
        """Book an event :meth:`check` accepted; any other is a bug of the caller (it raises)."""
        refusal = self.check(event)
        if refusal is not None:
            raise InvariantViolation(f"broker event booked unchecked ({refusal[0]}: {refusal[1]})")
        order_id = order_id_of(event)
        known = self.orders.get(order_id)
        match event:
            case OrderAccepted():
                if known is None:  # a bracket leg the broker placed (checked)
                    assert event.order is not None
                    self.orders[order_id] = BrokerOrder(
                        order=event.order, status=transition(OrderStatus.PENDING, "accept")
                    )
                    return
                known.status = transition(known.status, "accept")
            case OrderRejected():
                assert known is not None
                known.status = transition(known.status, "reject")
            case OrderCancelled():
                assert known is not None
                known.status = transition(known.status, "cancel")
            case Filled():
                assert known is not None
                if known.status is OrderStatus.PENDING:  # a fill is also the acceptance
                    known.status = transition(known.status, "accept")
                known.filled += event.fill.qty
                known.status = transition(
                    known.status, "fill_full" if known.remaining == 0 else "fill_partial"
                )

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"order": unstructure(o.order), "status": o.status.value, "filled": o.filled}
            for o in self.orders.values()
        ]

    @classmethod
    def restore(cls, data: list[dict[str, Any]]) -> BrokerBook:
        orders = {}
        for row in data:
            order = structure(row["order"], Order)
            orders[order.id] = BrokerOrder(
                order=order, status=OrderStatus(row["status"]), filled=row["filled"]
            )
        return cls(orders=orders)
