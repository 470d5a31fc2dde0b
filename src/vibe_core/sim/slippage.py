"""Adverse slippage on market and stop fills (limit fills are never worse than their limit).

State: none: pure functions.
Consumes: the :class:`~vibe_core.config.FillModel`, the bar range, the fill's quantity and the
point's liquidity.
Emits: the adverse fraction and the slipped price.
Invariants: the fraction is a sum of non-negative terms (config checks them), so the price moves
against the side (before its rounding to 4 decimals); the size ratio is within 0..1.

fraction = slippage_base_pct + slippage_volatility x (bar range / bar open)
           + slippage_size x (fill qty / point liquidity)

The volatility term uses the bar being matched (bar mode) or the last observed primary bar
(prints). The size ratio is capped at 1 (a fill can at most take the whole point) and is 0 when
the point carries no volume. Buys pay ``ref x (1 + f)``, sells get ``ref x (1 - f)``.
"""

from __future__ import annotations

from vibe_core.config import FillModel
from vibe_core.types import Side

__all__ = ["slippage_fraction", "slipped_price", "bar_range_pct"]


def bar_range_pct(high: float, low: float, open_: float) -> float:
    """(high - low) / open, the volatility measure of one bar (0 for a non-positive open)."""
    return (high - low) / open_ if open_ > 0 else 0.0


def slippage_fraction(model: FillModel, *, range_pct: float, qty: int, liquidity: float) -> float:
    """The adverse price fraction of one fill of ``qty`` at a point offering ``liquidity`` shares."""
    size = min(qty / liquidity, 1.0) if liquidity > 0 else 0.0
    return model.slippage_base_pct + model.slippage_volatility * range_pct + model.slippage_size * size


def slipped_price(ref: float, side: Side, fraction: float) -> float:
    """``ref`` moved against ``side`` by ``fraction``, rounded to 4 decimals."""
    return round(ref * (1.0 + fraction) if side is Side.BUY else ref * (1.0 - fraction), 4)
