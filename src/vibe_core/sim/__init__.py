"""The simulated exchange, pure and seeded: one fill model for backtest and paper-live (DESIGN §3).

``venue`` matches orders against the price path of ``points`` (four points per bar, one per
print) with the level-crossing rule of ``matching``; ``slippage`` and ``fees`` price the fills;
``draws`` is the only source of randomness (counter-based, keyed by seed, order id and index).
"""

from __future__ import annotations

from vibe_core.sim.draws import integer, uniform
from vibe_core.sim.fees import fee
from vibe_core.sim.matching import match_price
from vibe_core.sim.points import Point, bar_points, trade_point
from vibe_core.sim.slippage import slippage_fraction, slipped_price
from vibe_core.sim.venue import Venue, VenueRecord, fill_delay_ns

__all__ = [
    "Venue",
    "VenueRecord",
    "fill_delay_ns",
    "Point",
    "bar_points",
    "trade_point",
    "match_price",
    "slippage_fraction",
    "slipped_price",
    "fee",
    "uniform",
    "integer",
]
