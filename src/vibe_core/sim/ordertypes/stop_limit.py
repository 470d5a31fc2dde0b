"""Stop-limit orders: a limit order at ``limit_price`` once the price reaches ``stop_price``.

State: none: pure ``match``/``reach`` functions and the kind registered on import.
Consumes: a working order, whether it has triggered, and one step of the price path.
Emits: the matched price or ``None`` and the triggered flag (``match``); where on the price axis
the order can act (``reach``, for the quiet-band fast path).
Invariants: it never fills before its stop triggers, and never worse than its limit after; never
slipped.

It triggers as a stop does and is then matched as a limit from its trigger price on the same
step: marketable the moment it triggers, it fills at the trigger price; otherwise it fills where
the rest of a continuous step reaches its limit, or rests as a limit. Never slipped.
"""

from __future__ import annotations

from vibe_core.models import Order
from vibe_core.sim.ordertypes.levels import limit_ok
from vibe_core.sim.ordertypes.limit import match_limit
from vibe_core.sim.ordertypes.registry import OrderKind, register
from vibe_core.sim.ordertypes.stop import trigger_level
from vibe_core.types import OrderType, Side

__all__ = ["STOP_LIMIT_KIND"]


def match(
    order: Order, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    if triggered:
        return match_limit(order, True, start, price, continuous)
    hit = trigger_level(order, start, price, continuous)
    if hit is None:
        return None, False
    level, continuous = hit
    limit = order.limit_price
    assert limit is not None
    if limit_ok(order.side, limit, level):  # marketable the moment it triggers
        return level, True
    if continuous and limit_ok(order.side, limit, price):  # reached on the rest of the step
        return limit, True
    return None, True


def reach(order: Order, triggered: bool) -> tuple[float, bool] | None:
    if triggered:
        assert order.limit_price is not None
        return order.limit_price, order.side is not Side.BUY
    assert order.stop_price is not None
    return order.stop_price, order.side is Side.BUY


def cash_price(order: Order) -> float | None:
    return order.limit_price


STOP_LIMIT_KIND = register(
    OrderKind(
        type=OrderType.STOP_LIMIT,
        match=match,
        reach=reach,
        needs_limit=True,
        needs_stop=True,
        slips=False,
        cash_price=cash_price,
    )
)
