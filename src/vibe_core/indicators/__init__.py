"""Incremental indicators (talipp) behind stable keys, bounded in memory, snapshotted exactly.

``IndicatorSpec`` names an indicator (``ema20@15m``); ``IndicatorBank`` keeps one talipp
indicator per spec and symbol and is fed closed bars by the engine.
"""

from __future__ import annotations

from vibe_core.indicators.bank import DEFAULT_WINDOW, IndicatorBank
from vibe_core.indicators.specs import KINDS, IndicatorSpec, min_history

__all__ = ["IndicatorBank", "IndicatorSpec", "KINDS", "DEFAULT_WINDOW", "min_history"]
