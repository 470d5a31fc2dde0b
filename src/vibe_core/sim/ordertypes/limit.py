"""Limit orders: fill at their limit or better, never slipped.

State: none: pure ``match``/``reach`` functions and the kind registered on import.
Consumes: a working order, whether it has triggered, and one step of the price path.
Emits: the matched price or ``None`` and the triggered flag (``match``); where on the price axis
the order can act (``reach``, for the quiet-band fast path).
Invariants: a fill is never worse than the limit (a buy at or below it, a sell at or above it)
and never slipped.

On a continuous step a limit reached from outside fills at its level; on a jump (a bar's open, a
print) at the price jumped to, the better one (a buy limit gapped under fills at the open). A
limit already marketable at the start of a continuous step (it could not fill there for lack of
liquidity) fills at the end price while still marketable, else at its level, which the step
passes on its way out.
"""

from __future__ import annotations

from vibe_core.models import Order
from vibe_core.sim.ordertypes.levels import limit_ok
from vibe_core.sim.ordertypes.registry import OrderKind, register
from vibe_core.types import OrderType, Side

__all__ = ["LIMIT_KIND", "match_limit"]


def match_limit(
    order: Order, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    """The limit rule; also the second half of a stop-limit once triggered."""
    limit = order.limit_price
    assert limit is not None
    side = order.side
    if limit_ok(side, limit, price):
        return (limit if continuous and not limit_ok(side, limit, start) else price), triggered
    if continuous and limit_ok(side, limit, start):  # marketable at the start, passes the level leaving
        return limit, triggered
    return None, triggered


def reach(order: Order, triggered: bool) -> tuple[float, bool] | None:
    assert order.limit_price is not None
    return order.limit_price, order.side is not Side.BUY  # a sell limit acts at or above its level


def cash_price(order: Order) -> float | None:
    return order.limit_price


LIMIT_KIND = register(
    OrderKind(
        type=OrderType.LIMIT,
        match=match_limit,
        reach=reach,
        needs_limit=True,
        slips=False,
        cash_price=cash_price,
    )
)
