"""The quiet band: an optional fast path that skips bars no working order can reach.

State: none; :class:`~vibe_core.sim.book.Book` caches one band per symbol and drops it whenever
something the band depends on changes (``Book.changed``, the one invalidation point).
Consumes: a symbol's working orders (their kind, trigger flag, status and expiry) and a bar's
range and end.
Emits: the band, and whether a bar may let some order act.
Invariants: a bar inside the band cannot activate, expire, trigger or fill any working order,
so matching it would only move the last price to its close; the venue with the fast path on
gives the same records and snapshots as with it off (tests/vibe_core/sim/test_quiet.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias

from vibe_core.types import OrderStatus

if TYPE_CHECKING:
    from vibe_core.sim.book import Working

__all__ = ["Band", "band_of", "inside", "may_act", "cold", "cold_if_acting", "reachable"]

#: ``(low, high, end)``: a bar with a low above ``low``, a high below ``high`` and an end before
#: ``end`` is quiet
Band: TypeAlias = tuple[float, float, float]

_INF = math.inf
_PENDING = OrderStatus.PENDING
_NO_COLD: frozenset[str] = frozenset()


def reachable(w: Working, low: float, high: float) -> bool:
    """Whether some price in ``low..high`` can trigger or fill ``w``: an unreachable order cannot
    match at any point of a bar with that range (its open is a jump and every later step stays
    within the range)."""
    where = w.kind.reach(w.order, w.triggered)
    if where is None:
        return True
    level, up = where
    return high >= level if up else low <= level


def band_of(book: Iterable[Working]) -> Band:
    """The band of a symbol's working orders: the conditions of :func:`may_act` folded once."""
    low, high, end = -_INF, _INF, _INF
    for w in book:
        if w.expires is not None and w.expires < end:
            end = w.expires
        where = None if w.status is _PENDING else w.kind.reach(w.order, w.triggered)
        if where is None:
            low, high = _INF, -_INF  # may act in any bar
            continue
        level, up = where
        if up:
            high = min(high, level)
        else:
            low = max(low, level)
    return low, high, end


def inside(band: Band, low: float, high: float, end: int) -> bool:
    """Is a bar spanning ``low..high`` and ending at ``end`` quiet for ``band``?"""
    return low > band[0] and high < band[1] and end < band[2]


def may_act(book: Iterable[Working], low: float, high: float, end: int) -> bool:
    """Can some working order activate, expire, trigger or fill in a bar spanning ``low..high``
    that ends at ``end``? (Exact, where the band is a cheaper bound.)"""
    for w in book:
        expires = w.expires
        if w.status is _PENDING or (expires is not None and expires <= end) or reachable(w, low, high):
            return True
    return False


def cold(book: Iterable[Working], low: float, high: float) -> frozenset[str]:
    """Ids of the working orders that no price in ``low..high`` can trigger or fill."""
    return frozenset(w.order.id for w in book if not reachable(w, low, high))


def cold_if_acting(book: Iterable[Working], low: float, high: float, end: int) -> frozenset[str] | None:
    """``None`` when no working order can act in the bar (:func:`may_act` is false), else the ids
    of :func:`cold`: one pass over the orders where the two functions take two."""
    acts = False
    ids = []
    for w in book:
        if reachable(w, low, high):
            acts = True
        else:
            ids.append(w.order.id)
            expires = w.expires
            if w.status is _PENDING or (expires is not None and expires <= end):
                acts = True
    if not acts:
        return None
    return frozenset(ids) if ids else _NO_COLD
