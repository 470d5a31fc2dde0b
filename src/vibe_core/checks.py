"""Field checks of the public value types (events, orders, fills, signals, records).

State: none: pure predicates and the :class:`Rule` records of each class.
Consumes: the fields of a value being built.
Emits: ``True``/``False`` per predicate; :func:`reject` raises ``ValueError`` naming the class,
the field and the value.
Invariants: a class's one boolean expression and its rules agree, so an instance that builds
passed every rule, and one that does not names the first rule it breaks.

Every value class checks its fields where it is built, in one ``__attrs_post_init__``: a single
boolean expression over all fields decides, and only when it is false does :func:`reject` walk the
class's rules in order to raise a ``ValueError`` naming the class, the field and the bad value.
The expression and the rules say the same thing; ``tests/vibe_core/test_events.py`` and
``test_models.py`` reject every bad field through the constructor.

Numbers follow the comparisons the expressions make: a price is any number ``p`` with
``0 < p < inf`` (so NaN and infinities fail), a size ``0 <= s < inf``; timestamps and share
quantities are ``int`` (not ``bool``); names are non-empty ``str``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import attrs

__all__ = [
    "INF",
    "Rule",
    "field",
    "relation",
    "reject",
    "timestamp",
    "optional_timestamp",
    "name",
    "text",
    "price",
    "optional_price",
    "size",
    "optional_size",
    "finite",
    "quantity",
    "instance",
]

INF = math.inf


@attrs.frozen
class Rule:
    """``field`` must satisfy ``check(value_of_the_object)``; ``what`` says how, for the message."""

    field: str
    check: Callable[[Any], bool]
    what: str
    whole: bool = False  #: ``check`` takes the whole object (a relation between fields)


def relation(field: str, check: Callable[[Any], bool], what: str) -> Rule:
    """A rule on ``field`` that looks at other fields too (``check`` gets the object)."""
    return Rule(field, check, what, whole=True)


def reject(obj: object, rules: Sequence[Rule]) -> NoReturn:
    """Raise the ``ValueError`` for the first rule ``obj`` breaks."""
    cls = type(obj).__name__
    for r in rules:
        value = getattr(obj, r.field)
        try:
            ok = r.check(obj if r.whole else value)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"{cls}.{r.field} must be {r.what}, got {value!r}")
    raise ValueError(f"{cls}: invalid fields {obj!r}")  # (the rules miss a case the expression caught)


# -- field predicates: the same comparisons as the classes' expressions ------------------------


def timestamp(v: object) -> bool:
    return type(v) is int


def optional_timestamp(v: object) -> bool:
    return v is None or type(v) is int


def name(v: object) -> bool:
    return type(v) is str and v != ""


def text(v: object) -> bool:
    return type(v) is str


def price(v: Any) -> bool:
    return bool(0.0 < v < INF)


def optional_price(v: Any) -> bool:
    return v is None or bool(0.0 < v < INF)


def size(v: Any) -> bool:
    return bool(0.0 <= v < INF)


def optional_size(v: Any) -> bool:
    return v is None or bool(0.0 <= v < INF)


def finite(v: Any) -> bool:
    return bool(-INF < v < INF)


def quantity(v: object) -> bool:
    return type(v) is int and v > 0


def instance(name_: str, cls: type) -> Rule:
    """The rule: ``obj.<name_>`` is exactly a ``cls`` (value types and enums are never subclassed)."""

    def check(v: object) -> bool:
        return type(v) is cls

    return Rule(name_, check, f"a {cls.__name__}")


_WHAT: dict[Callable[..., bool], str] = {
    timestamp: "an int timestamp (ns UTC)",
    optional_timestamp: "None or an int timestamp (ns UTC)",
    name: "a non-empty str",
    text: "a str",
    price: "a finite number > 0",
    optional_price: "None or a finite number > 0",
    size: "a finite number >= 0",
    optional_size: "None or a finite number >= 0",
    finite: "a finite number",
    quantity: "an int > 0",
}


def field(name_: str, check: Callable[[Any], bool], what: str | None = None) -> Rule:
    """The rule ``check(obj.<name_>)``; the message of a predicate above is known."""
    return Rule(name_, check, what if what is not None else _WHAT[check])
