"""The level-crossing rule: at what price an order matches on one step of the price path.

Pure functions over prices, no state: the venue keeps the order's ``triggered`` flag and calls
:func:`match_price` for each step ``start -> price`` of the path.

# Theory of operation
A step is *continuous* (inside a bar: the price slides from ``start`` to ``price`` and passes
every level between) or a *jump* (a bar's open, every print, an order that became active between
two points: only ``price`` is seen). Then:

- market orders and triggered stops take ``price``;
- a stop whose level is crossed on a continuous step triggers and fills at its level; on a jump
  it fills at ``price`` (the worse price: a sell stop gapped through fills at the open);
- a limit reached on a continuous step fills at its level; on a jump at ``price`` (the better
  price: a buy limit gapped under fills at the open); a limit already marketable at ``start``
  (it could not fill there for lack of liquidity) fills at ``price`` when still marketable, else
  at its level, which the step passes on its way out;
- a stop-limit becomes a limit at its trigger price and is matched from there on the same step.
"""

from __future__ import annotations

from vibe_core.models import Order
from vibe_core.types import BUY, LIMIT, MARKET, STOP, Side

__all__ = ["match_price", "reach", "reachable", "stop_hit", "limit_ok"]


def stop_hit(side: Side, stop: float, price: float) -> bool:
    """A buy stop triggers at or above its level, a sell stop at or below."""
    return price >= stop if side is BUY else price <= stop


def limit_ok(side: Side, limit: float, price: float) -> bool:
    """A buy limit is marketable at or below its level, a sell limit at or above."""
    return price <= limit if side is BUY else price >= limit


def match_price(
    order: Order, *, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    """The matched (pre-slippage) price of ``order`` on the step ``start -> price``, or None,
    and whether its stop has triggered by the end of the step."""
    kind = order.type
    if kind is MARKET:
        return price, triggered
    side = order.side
    if kind is not LIMIT and not triggered:
        stop = order.stop_price
        assert stop is not None
        if not stop_hit(side, stop, price):
            return None, False
        if continuous and not stop_hit(side, stop, start):
            level = stop
        else:  # a jump, or already through at the start of the step: only the end is seen
            level, continuous = price, False
        if kind is STOP:
            return level, True
        limit = order.limit_price
        assert limit is not None
        if limit_ok(side, limit, level):  # marketable the moment it triggers
            return level, True
        if continuous and limit_ok(side, limit, price):
            return limit, True
        return None, True
    if kind is STOP:
        return price, True
    limit = order.limit_price
    assert limit is not None
    if limit_ok(side, limit, price):
        return (limit if continuous and not limit_ok(side, limit, start) else price), triggered
    if continuous and limit_ok(side, limit, start):  # marketable at the start, passes the level leaving
        return limit, triggered
    return None, triggered


def reach(order: Order, *, triggered: bool) -> tuple[float, bool] | None:
    """Where ``order`` can act: ``(level, up)``, at prices ``>= level`` when ``up`` (a buy stop, a
    sell limit) or ``<= level`` otherwise (a sell stop, a buy limit); ``None`` at any price (a
    market order, a triggered stop)."""
    kind = order.type
    if kind is MARKET or (kind is STOP and triggered):
        return None
    stop_like = kind is not LIMIT and not triggered  # an untriggered stop or stop-limit
    level = order.stop_price if stop_like else order.limit_price
    assert level is not None
    return level, (order.side is BUY) is stop_like


def reachable(order: Order, *, triggered: bool, low: float, high: float) -> bool:
    """Whether some price in ``low..high`` can trigger or fill ``order``.

    A cheap filter before walking a bar's path: an unreachable order cannot match at any point
    of the bar (its open is a jump and every later step stays within the range).
    """
    where = reach(order, triggered=triggered)
    if where is None:
        return True
    level, up = where
    return high >= level if up else low <= level
