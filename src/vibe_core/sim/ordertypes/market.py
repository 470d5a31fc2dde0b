"""Market orders: fill at the first point at or after they are active, with slippage.

State: none: pure ``match``/``reach`` functions and the kind registered on import.
Consumes: a working order, whether it has triggered, and one step of the price path.
Emits: the matched price or ``None`` and the triggered flag (``match``); where on the price axis
the order can act (``reach``, for the quiet-band fast path).
Invariants: a market order matches at any price: at the first point it meets, with slippage.

A new market order is not checked against the last price (it waits for the next point), and a
DAY market order still working at its session's close fills there at the last price
(market-on-close).
"""

from __future__ import annotations

from vibe_core.models import Order
from vibe_core.sim.ordertypes.registry import OrderKind, register
from vibe_core.types import OrderType

__all__ = ["MARKET_KIND"]


def match(
    order: Order, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    return price, triggered


def reach(order: Order, triggered: bool) -> tuple[float, bool] | None:
    return None  # any price


MARKET_KIND = register(
    OrderKind(type=OrderType.MARKET, match=match, reach=reach, checked_at_once=False, fills_at_close=True)
)
