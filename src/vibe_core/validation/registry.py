"""The rule registry: a validation rule is one module with a config class and a :func:`register_rule`.

State: the module-level registry ``name -> rule class``, in registration order.
Consumes: rule classes to register (:func:`register_rule`).
Emits: the registered rules (:func:`rule_types`); a :class:`~vibe_core.config.ConfigError`
naming the key when a rule has no ``RuleConfig`` subclass or one of its keys is taken.
Invariants: rule names and rule keys are unique across the ``validation`` section (``enabled``
included).

A rule class has a ``config_class`` (a :class:`~vibe_core.config.RuleConfig` subclass) and is
built as ``rule_class(config)``. In the ``validation`` section its switch is its name and its keys
sit flat beside it, so :func:`register_rule` refuses a key another rule (or the section) has.
Rules run in registration order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from vibe_core.config import ConfigError, RuleConfig
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Signal

if TYPE_CHECKING:
    from vibe_core.validation.rules import Swings

__all__ = ["Rule", "RuleContext", "RuleType", "register_rule", "rule_types"]


@attrs.frozen
class RuleContext:
    """What the validator knows of the signal's symbol when it asks the rules (closed bars only)."""

    indicators: IndicatorBank
    swings: Swings | None  #: recent 1h highs and lows (when a rule asked for 1h history)
    breakout_volume: float  #: volume of the symbol's last closed 5m bar
    volume_source: tuple[str, int] | None  #: source of the 5m volume history and bars seen from it
    close_1h: float | None = None  #: close of the last closed 1h bar


class Rule(Protocol):
    """A validation rule: says yes or no to a signal, and why, with the numbers."""

    @property
    def name(self) -> str: ...

    @property
    def specs(self) -> tuple[IndicatorSpec, ...]:
        """The indicators the rule reads (the validator asks the bank for them)."""
        ...

    @property
    def history_1h(self) -> int:
        """How many recent 1h bars (highs and lows) the rule reads from ``RuleContext.swings``."""
        ...

    def check(self, signal: Signal, ctx: RuleContext) -> tuple[bool, str]:
        """``(ok, reason)``: the reason is short and names the numbers ("volume 0.80x < 1.50x")."""
        ...


class RuleType(Protocol):
    """What :func:`register_rule` takes: a rule class."""

    @property
    def config_class(self) -> type[RuleConfig]: ...

    def __call__(self, config: Any) -> Rule: ...


_RULES: dict[str, RuleType] = {}


def register_rule(name: str, rule: RuleType) -> None:
    """Make ``rule`` run as ``validation.<name>`` (on by default: its config's ``enabled``)."""
    config_class = getattr(rule, "config_class", None)
    if not (isinstance(config_class, type) and issubclass(config_class, RuleConfig)):
        raise ConfigError(f"validation.{name}: the rule has no config_class (a RuleConfig subclass)")
    taken = {"enabled", *(n for n in _RULES if n != name)}
    for other, known in _RULES.items():
        if other != name:
            taken |= {f.name for f in attrs.fields(known.config_class)}
    keys = {f.name for f in attrs.fields(config_class)} - {"enabled"}
    clash = sorted(({name} | keys) & taken)
    if clash:
        raise ConfigError(f"validation.{clash[0]}: already a key of the validation section")
    _RULES[name] = rule


def rule_types() -> Mapping[str, RuleType]:
    """The registered rules by name, in registration order."""
    return _RULES
