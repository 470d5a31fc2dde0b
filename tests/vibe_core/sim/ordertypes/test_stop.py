"""The stop rule, by hand: at the level when crossed on the way, at the worse price on a jump."""

from __future__ import annotations

import pytest

from vibe_core.models import Order
from vibe_core.sim.ordertypes.stop import STOP_KIND
from vibe_core.types import OrderType, Side

BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("side", "triggered", "start", "price", "continuous", "expected"),
    [
        (SELL, False, 10.2, 9.8, True, (10.0, True)),  # crossed on the way: at the level
        (SELL, False, 10.2, 9.8, False, (9.8, True)),  # a jump: at the worse price
        (SELL, False, 9.9, 9.8, True, (9.8, True)),  # already through at the start
        (SELL, False, 10.2, 10.1, True, (None, False)),
        (BUY, False, 9.8, 9.9, True, (None, False)),
        (BUY, False, 9.8, 10.3, True, (10.0, True)),
        (BUY, True, 9.0, 9.5, True, (9.5, True)),  # triggered (not filled for lack of volume): a market order
    ],
)
def test_stop_table(side, triggered, start, price, continuous, expected):
    o = Order(id="x", symbol="AAPL", side=side, qty=1, type=OrderType.STOP, ts=0, stop_price=10.0)
    assert STOP_KIND.match(o, triggered, start, price, continuous) == expected


def test_a_stop_reaches_toward_its_worse_side_until_triggered():
    buy = Order(id="x", symbol="AAPL", side=BUY, qty=1, type=OrderType.STOP, ts=0, stop_price=10.0)
    assert STOP_KIND.reach(buy, False) == (10.0, True)
    assert STOP_KIND.reach(buy, True) is None
    assert (STOP_KIND.needs_stop, STOP_KIND.slips, STOP_KIND.cash_price(buy)) == (True, True, None)
