"""Multi-timeframe validation of signals: the validator and its pluggable rules."""

from vibe_core.validation.rules import (
    Rule,
    RuleContext,
    SupportResistance,
    TrendAlignment,
    VolumeConfirmation,
)
from vibe_core.validation.validator import Validator

__all__ = ["Rule", "RuleContext", "SupportResistance", "TrendAlignment", "Validator", "VolumeConfirmation"]
