"""Strategies: the protocol, the registry, and the built-in Opening Range Breakout."""

from vibe_core.strategy.base import PerBar, Strategy, create, register, registered, restore_strategy
from vibe_core.strategy.orb import OpeningRangeBreakout

__all__ = [
    "Strategy",
    "PerBar",
    "create",
    "register",
    "registered",
    "restore_strategy",
    "OpeningRangeBreakout",
]
