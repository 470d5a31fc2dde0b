"""Incremental indicators (talipp) behind stable keys, bounded in memory, snapshotted exactly.

State: :class:`IndicatorBank` (see :mod:`~vibe_core.indicators.bank`); this module re-exports.
Consumes: closed bars, fed by the engine.
Emits: indicator values by key, for strategies and validation rules.
Invariants: those of the bank and of :mod:`~vibe_core.indicators.snapshot`.

``IndicatorSpec`` names an indicator (``ema20@15m``); ``IndicatorBank`` keeps one talipp
indicator per spec and symbol and is fed closed bars by the engine.
"""

from __future__ import annotations

from vibe_core.indicators.bank import DEFAULT_WINDOW, IndicatorBank
from vibe_core.indicators.specs import KINDS, IndicatorSpec, min_history

__all__ = ["IndicatorBank", "IndicatorSpec", "KINDS", "DEFAULT_WINDOW", "min_history"]
