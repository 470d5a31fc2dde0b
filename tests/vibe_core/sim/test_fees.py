"""Commissions by hand: per share with a minimum, or none."""

from __future__ import annotations

import pytest

from vibe_core.config import FillModel
from vibe_core.sim.fees import fee


@pytest.mark.parametrize(
    ("per_share", "minimum", "qty", "expected"),
    [(0.0, 1.0, 100, 0.0), (0.005, 1.0, 100, 1.0), (0.005, 1.0, 1000, 5.0)],
)
def test_fee(per_share, minimum, qty, expected):
    assert fee(FillModel(fee_per_share=per_share, fee_min=minimum), qty) == pytest.approx(expected)
