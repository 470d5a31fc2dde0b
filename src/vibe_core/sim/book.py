"""The venue's book: working orders per symbol in time priority, one-cancels-other, expiry, ids.

State: :class:`Book`: every working order (:class:`Working`, its progress), the per-symbol lists
in time priority, the ids seen in the current and previous session (idempotent resubmission), the
earliest DAY expiry, and the quiet bands cached per symbol.
Consumes: orders accepted by the venue, status inputs of :mod:`vibe_core.orders` (activate,
fills, cancel, expire), trigger flags set by matching.
Emits: ``OrderCancelled`` records when an order is cancelled or expires (:meth:`Book.finish`).
Invariants: an order is in ``orders`` exactly when it is in its symbol's list, and is working
(not terminal); a symbol with no working order has no list; a cached band is dropped by
:meth:`Book.changed` whenever an order of its symbol is added, dropped, activated or triggered
(the only place a band is invalidated).
"""

from __future__ import annotations

from typing import Any

import attrs

from vibe_core.events import OrderCancelled
from vibe_core.models import Order
from vibe_core.orders import transition
from vibe_core.sim.ordertypes import OrderKind
from vibe_core.sim.quiet import Band, band_of
from vibe_core.types import OrderStatus

__all__ = ["Book", "Working", "PROGRESS"]

_PENDING = OrderStatus.PENDING
#: the progress fields of a working order, in snapshot order
PROGRESS = ("active_ts", "expires", "filled", "reduced", "triggered", "draws", "spent", "sibling", "pairs")


@attrs.define
class Working:
    """A working order and its progress (owned by one book)."""

    order: Order
    kind: OrderKind  #: the behaviour of ``order.type``
    status: OrderStatus
    active_ts: int
    expires: int | None  #: session close for DAY orders
    filled: int = 0
    reduced: int = 0  #: quantity taken away by fills of the other leg of its pair
    triggered: bool = False
    draws: int = 1  #: next draw index (0 is the fill delay)
    spent: float = 0.0  #: notional bought so far, for ``max_notional``
    sibling: str | None = None  #: the other leg of a one-cancels-other pair
    pairs: int = 0  #: bracket pairs placed so far (one per fill)

    @property
    def remaining(self) -> int:
        return self.order.qty - self.filled - self.reduced

    def progress(self) -> dict[str, Any]:
        """The JSON-safe progress fields (the order and status are stored beside them)."""
        return {name: getattr(self, name) for name in PROGRESS}


@attrs.define
class Book:
    """The working orders of one venue; see the module docstring."""

    orders: dict[str, Working] = attrs.Factory(dict)
    by_symbol: dict[str, list[Working]] = attrs.Factory(dict)
    recent: dict[str, int] = attrs.Factory(dict)  #: order id -> session index it was seen in
    recent_session: int = -1
    next_expiry: int | None = None
    _bands: dict[str, Band] = attrs.field(factory=dict, eq=False, repr=False)

    # -- reads -------------------------------------------------------------------------------------

    def known(self, order_id: str) -> bool:
        """Working, or seen in this or the previous session."""
        return order_id in self.orders or order_id in self.recent

    def band(self, symbol: str, book: list[Working]) -> Band:
        """The quiet band of ``symbol`` (its working orders ``book``), cached until changed."""
        band = self._bands.get(symbol)
        if band is None:
            band = self._bands[symbol] = band_of(book)
        return band

    def next_activation(self) -> int | None:
        """The earliest active time of an order still pending its fill delay."""
        return min((w.active_ts for w in self.orders.values() if w.status is _PENDING), default=None)

    def due(self, ts: int) -> list[Working]:
        """DAY orders whose session has closed by ``ts``, in time priority."""
        return [w for w in self.orders.values() if w.expires is not None and w.expires <= ts]

    # -- changes -----------------------------------------------------------------------------------

    def changed(self, symbol: str) -> None:
        """Something a band depends on changed: the one place a cached band is dropped."""
        self._bands.pop(symbol, None)

    def add(self, w: Working) -> None:
        symbol = w.order.symbol
        self.changed(symbol)
        self.orders[w.order.id] = w
        self.by_symbol.setdefault(symbol, []).append(w)
        if w.expires is not None and (self.next_expiry is None or w.expires < self.next_expiry):
            self.next_expiry = w.expires

    def drop(self, w: Working) -> None:
        symbol = w.order.symbol
        self.changed(symbol)
        del self.orders[w.order.id]
        book = self.by_symbol[symbol]
        book.remove(w)
        if not book:
            del self.by_symbol[symbol]

    def accept(self, w: Working) -> None:
        """A new order with no fill delay is active at once."""
        w.status = transition(w.status, "accept")
        self.changed(w.order.symbol)

    def activate(self, w: Working) -> None:
        """A pending order's fill delay has passed."""
        w.status = transition(w.status, "activate")
        self.changed(w.order.symbol)  # (a pending order may act in any bar)

    def set_triggered(self, w: Working, triggered: bool) -> None:
        if triggered is not w.triggered:
            w.triggered = triggered
            self.changed(w.order.symbol)  # its reach moved

    def fill(self, w: Working, qty: int, notional: float) -> bool:
        """Book a fill of ``qty`` on ``w``; True when it completes the order (then dropped)."""
        w.filled += qty
        w.spent += notional
        done = w.remaining <= 0
        w.status = transition(w.status, "fill_full" if done else "fill_partial")
        if done:
            self.drop(w)
        return done

    def finish(self, w: Working, event: str, ts: int, reason: str) -> OrderCancelled:
        """Cancel (``event`` "cancel") or expire (``"expire"``) a working order."""
        w.status = transition(w.status, event)
        self.drop(w)
        return OrderCancelled(ts=ts, order_id=w.order.id, reason=reason)

    def link(self, first: Working, second: Working) -> None:
        """Make two legs one-cancels-other: a fill of one reduces the other."""
        first.sibling, second.sibling = second.order.id, first.order.id

    def remember(self, order_id: str, session_index: int) -> None:
        """Keep ids of the current and previous session for idempotency (bounded memory)."""
        if session_index > self.recent_session:
            self.recent = {k: v for k, v in self.recent.items() if v >= session_index - 1}
            self.recent_session = session_index
        self.recent[order_id] = session_index

    def refresh_expiry(self) -> None:
        """The earliest DAY expiry left (after expired orders were dropped)."""
        left = [w.expires for w in self.orders.values() if w.expires is not None]
        self.next_expiry = min(left, default=None)
