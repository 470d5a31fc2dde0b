"""Multi-timeframe validation of signals: the validator, the rule registry and the built-in rules.

State: the rule registry (:mod:`~vibe_core.validation.registry`); this module re-exports.
Consumes: signals and the multi-timeframe state (through the :class:`Validator`).
Emits: a verdict per signal, with each rule's reason.
Invariants: the built-in rules are registered once this package is imported, in a fixed order.
"""

from vibe_core.validation.registry import Rule, RuleContext, RuleType, register_rule, rule_types
from vibe_core.validation.rules import (
    SupportResistance,
    SupportResistanceConfig,
    TrendAlignment,
    TrendConfig,
    VolumeConfig,
    VolumeConfirmation,
)
from vibe_core.validation.validator import Validator

__all__ = [
    "Rule",
    "RuleContext",
    "RuleType",
    "register_rule",
    "rule_types",
    "SupportResistance",
    "SupportResistanceConfig",
    "TrendAlignment",
    "TrendConfig",
    "Validator",
    "VolumeConfig",
    "VolumeConfirmation",
]
