"""Strategies: the protocol, the registry, the built-in ones, and ``multi`` to run several at once.

State: the strategy registry (:mod:`~vibe_core.strategy.registry`); this module re-exports.
Consumes: closed bars and session opens (through each strategy).
Emits: :class:`~vibe_core.models.Signal` s.
Invariants: ``orb``, ``ema_pullback`` and ``multi`` are registered once this package is imported.

Each built-in strategy module registers itself when imported (here).
"""

from vibe_core.strategy.base import BarStrategy, PerBar, Strategy
from vibe_core.strategy.ema_pullback import EmaPullback, EmaPullbackConfig
from vibe_core.strategy.multi import MultiConfig, MultiStrategy
from vibe_core.strategy.orb import OpeningRangeBreakout, OrbConfig
from vibe_core.strategy.registry import (
    StrategyType,
    create,
    register,
    registered,
    restore_strategy,
    strategy_type,
)

__all__ = [
    "Strategy",
    "StrategyType",
    "PerBar",
    "BarStrategy",
    "create",
    "register",
    "registered",
    "restore_strategy",
    "strategy_type",
    "OpeningRangeBreakout",
    "OrbConfig",
    "EmaPullback",
    "EmaPullbackConfig",
    "MultiConfig",
    "MultiStrategy",
]
