"""A deterministic fake broker that answers the engine's orders the way a real one would.

:class:`FakeBroker` takes the engine's ``SubmitOrder`` / ``CancelOrder`` actions
(:meth:`FakeBroker.on_actions`) and returns the events a broker sends back, stamped at the
action's time: ``OrderAccepted``, ``OrderRejected``, ``Filled`` (in parts when asked) and
``OrderCancelled``. It keeps its own book, separate from the engine's, so tests check that the
engine's book follows the broker's. Configured per test:

- ``prices``: where market orders fill, per symbol (a market order of a symbol with no price
  stays working until :meth:`touch` gives one);
- ``reject``: order id or symbol -> reason: such orders are rejected;
- ``parts``: the fractions of a market order filled by successive fills (``(0.5, 0.5)``: two
  fills), the last part taking what is left;
- ``hold_fills``: market orders are only accepted; fills come from :meth:`fill` or :meth:`touch`.

Bracket parents get their legs after each fill, named as the simulated venue names them
(``<parent>-sl``/``-tp``, then ``-sl-2``/``-tp-2`` for a second fill), announced with
``OrderAccepted(order=leg)``; :meth:`touch` fills legs the price crosses and cancels the other leg
(one-cancels-other). It also implements :class:`vibe_live.broker.Broker` (async ``submit``,
``cancel``, ``events``) over the same logic.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping

import attrs

from vibe_core.actions import Action, CancelOrder, SubmitOrder
from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order
from vibe_core.types import OrderType
from vibe_live.broker import BrokerEvent


@attrs.define
class _Held:
    order: Order
    filled: int = 0
    pairs: int = 0
    sibling: str | None = None

    @property
    def remaining(self) -> int:
        return self.order.qty - self.filled


@attrs.define
class FakeBroker:
    prices: dict[str, float] = attrs.Factory(dict)
    reject: Mapping[str, str] = attrs.Factory(dict)
    parts: tuple[float, ...] = (1.0,)
    hold_fills: bool = False
    fee: float = 0.0
    working: dict[str, _Held] = attrs.Factory(dict)  #: the broker's own book of working orders
    seen: set[str] = attrs.Factory(set)  #: every id ever submitted (idempotency)
    submitted: list[Order] = attrs.Factory(list)
    cancel_requests: list[str] = attrs.Factory(list)
    _outbox: list[BrokerEvent] = attrs.Factory(list)

    # -- the engine's actions -> the broker's events ---------------------------------------------

    def on_actions(self, actions: Iterable[Action]) -> list[BrokerEvent]:
        out: list[BrokerEvent] = []
        for action in actions:
            if isinstance(action, SubmitOrder):
                out += self._submit(action.order)
            elif isinstance(action, CancelOrder):
                out += self._cancel(action.order_id, action.ts)
        return out

    def _submit(self, order: Order) -> list[BrokerEvent]:
        if order.id in self.seen:
            return []
        self.seen.add(order.id)
        self.submitted.append(order)
        reason = self.reject.get(order.id) or self.reject.get(order.symbol)
        if reason is not None:
            return [OrderRejected(ts=order.ts, order_id=order.id, symbol=order.symbol, reason=reason)]
        self.working[order.id] = _Held(order=order)
        out: list[BrokerEvent] = [OrderAccepted(ts=order.ts, order_id=order.id)]
        price = self.prices.get(order.symbol)
        if order.type is OrderType.MARKET and not self.hold_fills and price is not None:
            out += self._fill_in_parts(order.id, price, order.ts)
        return out

    def _cancel(self, order_id: str, ts: int) -> list[BrokerEvent]:
        self.cancel_requests.append(order_id)
        held = self.working.pop(order_id, None)
        if held is None:
            return []  # done already (or never known): a real broker reports nothing more
        return [OrderCancelled(ts=ts, order_id=order_id, reason="cancelled")]

    # -- the market moves -------------------------------------------------------------------------

    def fill(self, order_id: str, qty: int, price: float, ts: int) -> list[BrokerEvent]:
        """Fill ``qty`` of a working order at ``price`` (legs and one-cancels-other follow)."""
        held = self.working[order_id]
        qty = min(qty, held.remaining)
        held.filled += qty
        order = held.order
        fill = Fill(
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            ref_price=price,
            fee=self.fee,
            ts=ts,
            tag=order.tag,
        )
        out: list[BrokerEvent] = [Filled(ts=ts, fill=fill)]
        if held.remaining == 0:
            del self.working[order_id]
            if held.sibling is not None and held.sibling in self.working:
                del self.working[held.sibling]
                out.append(OrderCancelled(ts=ts, order_id=held.sibling, reason="oco"))
        if order.stop_loss is not None or order.take_profit is not None:
            out += self._legs(held, qty, ts)
        return out

    def touch(self, symbol: str, price: float, ts: int) -> list[BrokerEvent]:
        """The market trades at ``price``: fill every working order of ``symbol`` that it reaches."""
        self.prices[symbol] = price
        out: list[BrokerEvent] = []
        for order_id, held in list(self.working.items()):
            if order_id not in self.working or held.order.symbol != symbol:
                continue
            if _reached(held.order, price):
                out += self.fill(order_id, held.remaining, price, ts)
        return out

    def _fill_in_parts(self, order_id: str, price: float, ts: int) -> list[BrokerEvent]:
        out: list[BrokerEvent] = []
        total = self.working[order_id].order.qty
        for i, part in enumerate(self.parts):
            if order_id not in self.working:
                break
            last = i == len(self.parts) - 1
            qty = self.working[order_id].remaining if last else max(1, math.floor(total * part))
            out += self.fill(order_id, qty, price, ts)
        return out

    def _legs(self, parent: _Held, qty: int, ts: int) -> list[BrokerEvent]:
        parent.pairs += 1
        p = parent.order
        suffix = "" if parent.pairs == 1 else f"-{parent.pairs}"
        legs = [
            Order(
                id=f"{p.id}-{kind}{suffix}",
                symbol=p.symbol,
                side=p.side.opposite,
                qty=qty,
                type=order_type,
                ts=ts,
                stop_price=price if order_type is OrderType.STOP else None,
                limit_price=price if order_type is OrderType.LIMIT else None,
                tif=p.tif,
                parent_id=p.id,
                tag=tag,
            )
            for kind, price, order_type, tag in (
                ("sl", p.stop_loss, OrderType.STOP, "stop"),
                ("tp", p.take_profit, OrderType.LIMIT, "target"),
            )
            if price is not None
        ]
        held = [_Held(order=leg) for leg in legs]
        if len(held) == 2:
            held[0].sibling, held[1].sibling = legs[1].id, legs[0].id
        for h in held:
            self.working[h.order.id] = h
            self.seen.add(h.order.id)
        return [OrderAccepted(ts=ts, order_id=leg.id, order=leg) for leg in legs]

    # -- vibe_live.broker.Broker ------------------------------------------------------------------

    async def submit(self, order: Order) -> None:
        self._outbox += self._submit(order)

    async def cancel(self, order_id: str) -> None:
        self._outbox += self._cancel(order_id, 0)

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while self._outbox:
            yield self._outbox.pop(0)


def _reached(order: Order, price: float) -> bool:
    buy = order.side.sign > 0
    if order.type is OrderType.STOP:
        assert order.stop_price is not None
        return price >= order.stop_price if buy else price <= order.stop_price
    if order.type is OrderType.LIMIT:
        assert order.limit_price is not None
        return price <= order.limit_price if buy else price >= order.limit_price
    return order.type is OrderType.MARKET
