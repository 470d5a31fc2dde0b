"""The configuration tree: frozen attrs classes with every default in code.

Layering (YAML < environment ``VIBE__SECTION__KEY`` < CLI ``--set``) happens in the shells; they
merge plain dicts and hand them to :func:`config_from_dict`, which rejects unknown or ill-typed
keys with an error naming the key.

Two sections are open: ``strategy`` is validated by the config class of the strategy its ``name``
picks (a registered name, or an import path ``mypkg.strats:MyStrategy``), a subclass of
:class:`StrategyConfig`; ``validation`` holds ``enabled``, one switch per registered rule and each
rule's own keys (a :class:`RuleConfig` subclass), flat as in the YAML file.

State: none: frozen values and pure functions, in four modules: :mod:`~vibe_core.config.fields`
(:class:`ConfigError` and the field validators), :mod:`~vibe_core.config.sections` (the tree),
:mod:`~vibe_core.config.exchange` (the fill model and its presets) and
:mod:`~vibe_core.config.loading` (dicts in and out, ``--set`` paths).
Consumes: plain nested dicts (defaults < YAML < environment < ``--set``, merged by the shells).
Emits: :class:`Config`; :class:`ConfigError` naming the first bad key.
Invariants: every key has a default in code; ``config_from_dict(config_to_dict(c)) == c``;
an unknown or ill-typed key never passes silently.
"""

from __future__ import annotations

from vibe_core.config.exchange import PRESETS, ExchangeConfig, FillModel
from vibe_core.config.fields import ConfigError, fraction, hhmm, non_negative, one_of, positive
from vibe_core.config.loading import config_from_dict, config_to_dict, set_path, structure_section
from vibe_core.config.sections import (
    MVP_SYMBOLS,
    Config,
    FeedConfig,
    RiskConfig,
    RuleConfig,
    StrategyConfig,
    ValidationConfig,
)

__all__ = [
    "Config",
    "StrategyConfig",
    "RuleConfig",
    "ValidationConfig",
    "RiskConfig",
    "FeedConfig",
    "ExchangeConfig",
    "FillModel",
    "ConfigError",
    "config_from_dict",
    "config_to_dict",
    "structure_section",
    "set_path",
    "hhmm",
    "positive",
    "non_negative",
    "fraction",
    "one_of",
    "MVP_SYMBOLS",
    "PRESETS",
]
