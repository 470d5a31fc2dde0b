"""Multi-timeframe validation of signals: the validator, the rule registry and the built-in rules."""

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
