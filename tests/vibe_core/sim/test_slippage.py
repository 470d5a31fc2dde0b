"""Slippage by hand: base + volatility x range + size x participation, against the order's side."""

from __future__ import annotations

import pytest

from vibe_core.config import FillModel
from vibe_core.sim.slippage import bar_range_pct, slippage_fraction, slipped_price
from vibe_core.types import Side

MODEL = FillModel(slippage_base_pct=0.001, slippage_volatility=0.5, slippage_size=0.2)


@pytest.mark.parametrize(
    ("range_pct", "qty", "liquidity", "expected"),
    [
        (0.0, 0, 100.0, 0.001),
        (0.01, 0, 100.0, 0.001 + 0.005),
        (0.0, 50, 100.0, 0.001 + 0.1),
        (0.0, 500, 100.0, 0.001 + 0.2),  # the size ratio is capped at 1
        (0.0, 50, 0.0, 0.001),  # a point with no volume has no size term
    ],
)
def test_fraction(range_pct, qty, liquidity, expected):
    assert slippage_fraction(MODEL, range_pct=range_pct, qty=qty, liquidity=liquidity) == pytest.approx(
        expected
    )


def test_buys_pay_more_and_sells_get_less_rounded_to_four_decimals():
    assert slipped_price(100.0, Side.BUY, 0.00123456) == 100.1235
    assert slipped_price(100.0, Side.SELL, 0.00123456) == 99.8765


def test_bar_range():
    assert bar_range_pct(102.0, 98.0, 100.0) == pytest.approx(0.04)
    assert bar_range_pct(102.0, 98.0, 0.0) == 0.0
