"""Stop orders: a market order once the price reaches the stop level.

State: none: pure ``match``/``reach`` functions and the kind registered on import.
Consumes: a working order, whether it has triggered, and one step of the price path.
Emits: the matched price or ``None`` and the triggered flag (``match``); where on the price axis
the order can act (``reach``, for the quiet-band fast path).
Invariants: an untriggered stop never fills; once triggered it matches at any price, with
slippage; ``reach`` is ``None`` once triggered.

A stop whose level is crossed on a continuous step triggers and fills at its level; on a jump, or
already through at the start of the step, it fills at the price seen (the worse one: a sell stop
gapped through fills at the open). A triggered stop fills at any price, with slippage.
"""

from __future__ import annotations

from vibe_core.models import Order
from vibe_core.sim.ordertypes.levels import stop_hit
from vibe_core.sim.ordertypes.registry import OrderKind, register
from vibe_core.types import OrderType, Side

__all__ = ["STOP_KIND", "trigger_level"]


def trigger_level(order: Order, start: float, price: float, continuous: bool) -> tuple[float, bool] | None:
    """Where an untriggered stop triggers on the step, and whether the rest of the step from
    there is continuous; None when it does not trigger. Crossed on a continuous step: at its
    level; on a jump, or already through at the start: at ``price`` (only the end is seen)."""
    stop = order.stop_price
    assert stop is not None
    if not stop_hit(order.side, stop, price):
        return None
    if continuous and not stop_hit(order.side, stop, start):
        return stop, True
    return price, False


def match(
    order: Order, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    if triggered:
        return price, True
    hit = trigger_level(order, start, price, continuous)
    return (None, False) if hit is None else (hit[0], True)


def reach(order: Order, triggered: bool) -> tuple[float, bool] | None:
    if triggered:
        return None
    assert order.stop_price is not None
    return order.stop_price, order.side is Side.BUY  # a buy stop acts at or above its level


STOP_KIND = register(OrderKind(type=OrderType.STOP, match=match, reach=reach, needs_stop=True))
