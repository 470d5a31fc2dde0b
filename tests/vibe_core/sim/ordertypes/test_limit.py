"""The limit rule, by hand: at the level when crossed on the way, at the better price on a jump."""

from __future__ import annotations

import pytest

from vibe_core.models import Order
from vibe_core.sim.ordertypes.limit import LIMIT_KIND
from vibe_core.types import OrderType, Side

BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("side", "start", "price", "continuous", "expected"),
    [
        (BUY, 10.2, 9.8, True, 10.0),  # crossed on the way: at the level
        (BUY, 10.2, 9.8, False, 9.8),  # a jump: at the better price
        (BUY, 9.9, 9.7, True, 9.7),  # marketable since the start
        (BUY, 9.9, 10.3, True, 10.0),  # leaves through the level
        (BUY, 10.2, 10.1, True, None),
        (BUY, 10.2, 10.0, False, 10.0),  # exactly at the level
        (SELL, 9.8, 10.2, True, 10.0),
        (SELL, 9.8, 10.2, False, 10.2),
        (SELL, 9.8, 9.9, True, None),
    ],
)
def test_limit_table(side, start, price, continuous, expected):
    o = Order(id="x", symbol="AAPL", side=side, qty=1, type=OrderType.LIMIT, ts=0, limit_price=10.0)
    assert LIMIT_KIND.match(o, False, start, price, continuous) == (expected, False)


def test_a_limit_reaches_toward_its_better_side_and_charges_its_limit():
    buy = Order(id="x", symbol="AAPL", side=BUY, qty=1, type=OrderType.LIMIT, ts=0, limit_price=10.0)
    sell = Order(id="y", symbol="AAPL", side=SELL, qty=1, type=OrderType.LIMIT, ts=0, limit_price=11.0)
    assert LIMIT_KIND.reach(buy, False) == (10.0, False)  # at 10 or below
    assert LIMIT_KIND.reach(sell, False) == (11.0, True)  # at 11 or above
    assert LIMIT_KIND.cash_price(buy) == 10.0
    assert (LIMIT_KIND.needs_limit, LIMIT_KIND.slips) == (True, False)
