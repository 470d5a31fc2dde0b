"""The simulated exchange, pure and seeded: one fill model for backtest and paper-live (DESIGN §3).

State: :class:`Venue` (see :mod:`~vibe_core.sim.venue`); this module re-exports.
Consumes: orders, cancels, bars, prints and time (through the venue).
Emits: order records (accepted, rejected, filled, cancelled).
Invariants: those of the venue, the book and matching; every random draw is a function of
(seed, order id, index).

``venue`` is the façade: it admits orders (``admission``: rejection reasons, fill delay, expiry)
into the ``book`` (working orders, one-cancels-other, expiry) and has ``matching`` price the path
of ``points`` (four points per bar, one per print) against it; each order's behaviour comes from
its kind in ``ordertypes`` (a registry: a new type is one module and a registration); ``quiet`` is
the optional fast path that skips bars no order can reach; ``slippage`` and ``fees`` price the
fills; ``draws`` is the only source of randomness (counter-based, keyed by seed, order id and
index).
"""

from __future__ import annotations

from vibe_core.sim.book import Book, Working
from vibe_core.sim.draws import integer, uniform
from vibe_core.sim.fees import fee
from vibe_core.sim.matching import Matcher, match_price
from vibe_core.sim.ordertypes import OrderKind, kind_of, register
from vibe_core.sim.points import Point, bar_points, trade_point
from vibe_core.sim.slippage import slippage_fraction, slipped_price
from vibe_core.sim.venue import Venue, VenueRecord, fill_delay_ns

__all__ = [
    "Venue",
    "VenueRecord",
    "fill_delay_ns",
    "Book",
    "Working",
    "Matcher",
    "OrderKind",
    "register",
    "kind_of",
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
