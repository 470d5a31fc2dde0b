"""Market orders match at the price seen, anywhere, and fill at the close when still working."""

from __future__ import annotations

import pytest

from vibe_core.models import Order
from vibe_core.sim.ordertypes.market import MARKET_KIND
from vibe_core.types import OrderType, Side


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize(("start", "price", "continuous"), [(10.0, 9.0, True), (10.0, 11.0, False)])
def test_a_market_order_takes_the_price_seen(side, start, price, continuous):
    o = Order(id="x", symbol="AAPL", side=side, qty=1, type=OrderType.MARKET, ts=0)
    assert MARKET_KIND.match(o, False, start, price, continuous) == (price, False)
    assert MARKET_KIND.reach(o, False) is None


def test_market_orders_wait_for_the_next_point_and_fill_at_the_close():
    assert (MARKET_KIND.checked_at_once, MARKET_KIND.fills_at_close, MARKET_KIND.slips) == (False, True, True)
