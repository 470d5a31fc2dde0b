"""The broker boundary of the live shell: what a real broker adapter (Alpaca's paper API, IBKR)
implements so the core can trade through it unchanged.

The engine, built with ``new_state(..., external_broker=True)``, emits ``SubmitOrder`` and
``CancelOrder`` actions and keeps the book of what it asked for; the shell hands those to a
:class:`Broker` and feeds every event the broker reports back into ``step`` (through the event
log, like market data). The engine reconciles them against its book: an event for an order it
never sent (or a fill above an order's remaining quantity) is refused with an ``EventRejected``
record, never booked.

What an adapter must guarantee:

- ids: it sends the engine's order ids (``AAPL-20240315-1``) as the broker's client order ids, so a
  resubmission after a restart is idempotent, and it reports every event under those ids;
- bracket legs: an order with ``stop_loss``/``take_profit`` is a bracket; when its parent fills
  the adapter reports each leg with ``OrderAccepted(order=leg)``, the leg's id being
  ``<parent id>-sl`` / ``<parent id>-tp`` (``-sl-2``/``-tp-2`` for the legs of a second partial
  fill, and so on: the simulated venue's names), ``parent_id`` set and the leg's ``tag``
  ``"stop"``/``"target"`` (the exit reason of the trade it closes);
- fills: ``Filled`` with the engine's id, the fill's own quantity (not a cumulative one), price,
  fee and ``tag`` copied from the order;
- ``cancel`` of an order that is already done is not an error: the broker reports nothing more
  (or the fill that won the race);
- events come out in the order the broker produced them, stamped with the broker's time (``ts``)
  and, when the shell receives them, ``ts_recv``.

Every method is async: an adapter talks HTTP and a websocket. None may block the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypeAlias, runtime_checkable

from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Order

__all__ = ["Broker", "BrokerEvent"]

BrokerEvent: TypeAlias = OrderAccepted | OrderRejected | Filled | OrderCancelled


@runtime_checkable
class Broker(Protocol):
    """An executing broker, as the live shell sees it."""

    async def submit(self, order: Order) -> None:
        """Send ``order`` (from a ``SubmitOrder`` action); the answer arrives through :meth:`events`.

        Idempotent by ``order.id``: a second submit of a known id does nothing.
        """
        ...

    async def cancel(self, order_id: str) -> None:
        """Ask to cancel a working order (from a ``CancelOrder`` action); the ``OrderCancelled`` (or
        a fill that came first) arrives through :meth:`events`. Unknown or done ids are ignored."""
        ...

    def events(self) -> AsyncIterator[BrokerEvent]:
        """The broker's order events, in the order it produced them, for as long as it is connected."""
        ...
