"""The venue's admission of a new order: why it is rejected, when it becomes active, when it expires.

State: none: pure functions of the order, the venue's symbols and sessions, the last price and the
account the caller describes.
Consumes: a submitted :class:`~vibe_core.models.Order` (by :meth:`~vibe_core.sim.venue.Venue.submit`).
Emits: a rejection reason or ``None`` (:func:`rejection`), the order's fill delay
(:func:`fill_delay_ns`) and its expiry time (:func:`expiry`).
Invariants: the checks run in a fixed order (quantity, symbol, a registered type, the prices its
kind needs, an open session, the pause, cash), so one order always gets the same reason; the
delay is draw 0 of (seed, order id), the same wherever the order is replayed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from vibe_core.calendar import Session
from vibe_core.config import FillModel
from vibe_core.models import Order
from vibe_core.sim.draws import integer
from vibe_core.sim.ordertypes import OrderKind
from vibe_core.types import NS_PER_MS, Side, TimeInForce

__all__ = ["fill_delay_ns", "rejection", "expiry"]


def fill_delay_ns(model: FillModel, seed: int, order_id: str) -> int:
    """The order's fill delay: uniform over whole ms in [min, max], draw 0 of the order."""
    lo, hi = model.fill_delay_ms_min, model.fill_delay_ms_max
    if hi <= lo:
        return lo * NS_PER_MS
    return integer(seed, order_id, 0, lo, hi) * NS_PER_MS


def _valid_price(p: float | None) -> bool:
    return p is not None and p > 0.0 and math.isfinite(p)


def rejection(
    order: Order,
    kind: OrderKind | None,
    symbols: frozenset[str],
    session: Session | None,
    last_price: Callable[[str], float | None],
    cash: float | None,
    position: int,
    paused: bool,
    allow_margin: bool,
) -> str | None:
    """Why the venue rejects ``order`` (``cash``/``position``/``paused``: the account), or ``None``.

    ``kind``: the registered kind of ``order.type`` (``None``: none); ``session``: the session open
    at ``order.ts`` (``None``: the market is closed)."""
    if order.qty <= 0:
        return "non-positive qty"
    if order.symbol not in symbols:
        return "unknown symbol"
    if kind is None:
        return f"unsupported order type {order.type!r}"
    if (
        (kind.needs_limit and not _valid_price(order.limit_price))
        or (kind.needs_stop and not _valid_price(order.stop_price))
        or (order.stop_loss is not None and not _valid_price(order.stop_loss))
        or (order.take_profit is not None and not _valid_price(order.take_profit))
    ):
        return "invalid price"
    if session is None:
        return "market closed"
    after = position + order.side.sign * order.qty
    if paused and abs(after) > abs(position):
        return "trading paused"
    if cash is not None and not allow_margin and order.side is Side.BUY:
        opening = max(after, 0) - max(position, 0)  # shares added to a long position
        ref = kind.cash_price(order)
        if ref is None:
            ref = last_price(order.symbol) or order.stop_price
        if opening > 0 and ref is not None and opening * ref > cash + 1e-9:
            return "insufficient cash"
    return None


def expiry(order: Order, session: Session | None) -> int | None:
    """When a DAY order expires: the close of ``session``, the one open at ``order.ts`` (``None``
    for GTC or outside a session)."""
    if order.tif is TimeInForce.GTC:
        return None
    return None if session is None else session.close
