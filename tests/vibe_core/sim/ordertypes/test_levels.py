"""Stop and limit levels: a buy stop triggers at or above, a buy limit is marketable at or below."""

from __future__ import annotations

import pytest

from vibe_core.sim.ordertypes.levels import limit_ok, stop_hit
from vibe_core.types import Side

BUY, SELL = Side.BUY, Side.SELL


@pytest.mark.parametrize(
    ("side", "price", "hit", "ok"),
    [
        (BUY, 10.0, True, True),
        (BUY, 10.1, True, False),
        (SELL, 10.0, True, True),
        (SELL, 9.9, True, False),
        (BUY, 9.9, False, True),
        (SELL, 10.1, False, True),
    ],
)
def test_levels(side, price, hit, ok):
    assert stop_hit(side, 10.0, price) is hit
    assert limit_ok(side, 10.0, price) is ok
