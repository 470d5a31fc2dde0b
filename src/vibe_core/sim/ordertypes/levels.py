"""Price levels shared by the built-in order types: when a stop triggers and a limit is marketable.

State: none: pure predicates.
Consumes: a side, a level and a price.
Emits: whether a stop triggers (:func:`stop_hit`) and whether a limit is marketable
(:func:`limit_ok`) at that price.
Invariants: a level is reached at equality (a buy stop at 10 triggers at 10.00).
"""

from __future__ import annotations

from vibe_core.types import Side

__all__ = ["stop_hit", "limit_ok"]


def stop_hit(side: Side, stop: float, price: float) -> bool:
    """A buy stop triggers at or above its level, a sell stop at or below."""
    return price >= stop if side is Side.BUY else price <= stop


def limit_ok(side: Side, limit: float, price: float) -> bool:
    """A buy limit is marketable at or below its level, a sell limit at or above."""
    return price <= limit if side is Side.BUY else price >= limit
