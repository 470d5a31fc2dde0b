"""The stop-limit rule, by hand: triggers as a stop, then is a limit from its trigger price on."""

from __future__ import annotations

import pytest

from vibe_core.models import Order
from vibe_core.sim.ordertypes.stop_limit import STOP_LIMIT_KIND
from vibe_core.types import OrderType, Side

BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("side", "stop", "limit", "triggered", "start", "price", "continuous", "expected"),
    [
        (BUY, 10.0, 10.2, False, 9.8, 10.4, True, (10.0, True)),  # marketable at the trigger: there
        (BUY, 10.0, 9.9, False, 9.8, 10.4, True, (None, True)),  # triggered above its limit: rests
        (SELL, 10.0, 9.9, False, 10.2, 9.7, True, (10.0, True)),  # triggered at 10, marketable there
        (SELL, 10.0, 10.1, False, 10.2, 9.7, True, (None, True)),  # triggered under its limit: rests
        (SELL, 10.0, 9.9, False, 10.2, 9.7, False, (None, True)),  # a jump to 9.7: only 9.7 is seen
        (SELL, 10.0, 9.6, False, 10.2, 9.7, False, (9.7, True)),  # a jump under the stop, above the limit
        (SELL, 10.0, 9.9, False, 10.2, 10.1, True, (None, False)),
        (SELL, 10.0, 9.8, True, 9.6, 9.9, True, (9.8, True)),  # a triggered one is a limit
        (SELL, 10.0, 9.8, True, 9.6, 9.7, True, (None, True)),
    ],
)
def test_stop_limit_table(side, stop, limit, triggered, start, price, continuous, expected):
    o = Order(
        id="x",
        symbol="AAPL",
        side=side,
        qty=1,
        type=OrderType.STOP_LIMIT,
        ts=0,
        stop_price=stop,
        limit_price=limit,
    )
    assert STOP_LIMIT_KIND.match(o, triggered, start, price, continuous) == expected


def test_a_stop_limit_reaches_its_stop_then_its_limit():
    o = Order(
        id="x",
        symbol="AAPL",
        side=SELL,
        qty=1,
        type=OrderType.STOP_LIMIT,
        ts=0,
        stop_price=10.0,
        limit_price=9.8,
    )
    assert STOP_LIMIT_KIND.reach(o, False) == (10.0, False)  # a sell stop: at 10 or below
    assert STOP_LIMIT_KIND.reach(o, True) == (9.8, True)  # then a sell limit: at 9.8 or above
    assert (STOP_LIMIT_KIND.needs_limit, STOP_LIMIT_KIND.needs_stop, STOP_LIMIT_KIND.slips) == (
        True,
        True,
        False,
    )
