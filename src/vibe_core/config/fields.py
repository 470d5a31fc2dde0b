"""Config errors and the field validators of config classes (built-in sections and a user's).

State: none: an exception type and pure validator functions.
Consumes: a config instance, the attrs field and the value being set (the attrs validator shape).
Emits: :class:`ConfigError` naming the dotted key (``exchange.preset: ...``) when a value is bad.
Invariants: a class names its section in a ``section`` ClassVar (``"strategy."``), so every
message names the key as the user writes it; ``None`` (an unset override) passes every check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["ConfigError", "hhmm", "positive", "non_negative", "fraction", "one_of"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """A bad configuration key or value; the message names the key."""


def _key(inst: object, attribute: attrs.Attribute[Any]) -> str:
    """The dotted config key of ``attribute`` (``exchange.preset``): classes name their section."""
    return str(getattr(type(inst), "section", "")) + attribute.name


# validators for config classes, the built-in ones and a user's (errors name the dotted key)


def hhmm(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    """A time of day ``HH:MM``."""
    if not _HHMM.match(value):
        raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not a time of day HH:MM")


def positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be > 0, got {value!r}")


def non_negative(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 0:
        raise ConfigError(f"{_key(inst, attribute)}: must be >= 0, got {value!r}")


def fraction(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not 0 <= value <= 1:
        raise ConfigError(f"{_key(inst, attribute)}: must be within 0..1, got {value!r}")


def one_of(*choices: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    def check(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise ConfigError(f"{_key(inst, attribute)}: {value!r} is not one of {', '.join(choices)}")

    return check
