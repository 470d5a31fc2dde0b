"""Order types at the simulated venue: one module per type, each registering an :class:`OrderKind`.

State: the registry of :mod:`~vibe_core.sim.ordertypes.registry` (filled on import here).
Consumes: :class:`OrderKind` s to register.
Emits: the kind of an order's type (:func:`kind_of`, :func:`find`).
Invariants: the four built-in kinds are registered once this package is imported.

``market``, ``limit``, ``stop`` and ``stop_limit`` are registered on import; a new type is one
module that calls :func:`register` (see :mod:`~vibe_core.sim.ordertypes.registry`).
"""

from __future__ import annotations

from vibe_core.sim.ordertypes.limit import LIMIT_KIND
from vibe_core.sim.ordertypes.market import MARKET_KIND
from vibe_core.sim.ordertypes.registry import OrderKind, find, kind_of, register, registered, unregister
from vibe_core.sim.ordertypes.stop import STOP_KIND
from vibe_core.sim.ordertypes.stop_limit import STOP_LIMIT_KIND

__all__ = [
    "OrderKind",
    "register",
    "unregister",
    "kind_of",
    "find",
    "registered",
    "MARKET_KIND",
    "LIMIT_KIND",
    "STOP_KIND",
    "STOP_LIMIT_KIND",
]
