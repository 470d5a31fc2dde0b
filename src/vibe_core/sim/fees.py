"""Commissions: per share with a minimum per fill, or none.

State: none: one pure function.
Consumes: the :class:`~vibe_core.config.FillModel` and a fill's quantity.
Emits: the fill's commission.
Invariants: 0 when ``fee_per_share <= 0``, at least ``fee_min`` otherwise (both checked >= 0 by
config).

``fee = max(fee_min, fee_per_share x qty)`` when ``fee_per_share > 0``, else 0 (the optimistic
and base presets trade commission-free, like most US retail brokers).
"""

from __future__ import annotations

from vibe_core.config import FillModel

__all__ = ["fee"]


def fee(model: FillModel, qty: int) -> float:
    """The commission of one fill of ``qty`` shares."""
    if model.fee_per_share <= 0:
        return 0.0
    return max(model.fee_min, model.fee_per_share * qty)
