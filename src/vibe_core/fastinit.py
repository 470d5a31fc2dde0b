"""A faster ``__init__`` for the frozen, slotted attrs value classes made on every trade.

attrs' frozen ``__init__`` stores each field through ``object.__setattr__`` (a C method wrapper
called with an argument tuple): about 1,200 machine instructions a field, so one ``Order`` cost
17,000 and a round trip (signal, orders, fills, records) about 170,000. :func:`fast_init` gives
the class an ``__init__`` that turns the new instance, for the time of the stores, into a private
subclass whose ``__setattr__`` is the plain slot store, and then back: the same object, the same
fields, about a third of the cost. The instance is never seen half-built or with the other class.
:func:`fast_maker` does the same in a positional function that also allocates, with no
``__init__`` call at all (``make_bar``: one ``Bar`` per input row).

Only classes whose attrs ``__init__`` does nothing but store its arguments qualify (no validators,
converters, ``init=False`` fields or init hooks); anything else raises ``TypeError`` at import.
``tests/vibe_core/test_fastinit.py`` checks every decorated class against attrs' own ``__init__``;
``tests/vibe_core/test_events.py`` checks ``make_bar`` against ``Bar(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["fast_init", "fast_maker"]

T = TypeVar("T")

_HOOKS = ("__attrs_pre_init__", "__attrs_post_init__")


def _check(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    if not attrs.has(cls) or "__slots__" not in cls.__dict__ or cls.__setattr__ is object.__setattr__:
        raise TypeError(f"fast_init: {cls.__qualname__} is not a frozen slotted attrs class")
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    for f in fields:
        if f.validator is not None or f.converter is not None or not f.init:
            raise TypeError(f"fast_init: {cls.__qualname__}.{f.name}: validator, converter or init=False")
        default: Any = f.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            raise TypeError(f"fast_init: {cls.__qualname__}.{f.name} has a factory taking self")
    if any(hasattr(cls, hook) for hook in _HOOKS):
        raise TypeError(f"fast_init: {cls.__qualname__} has an init hook")
    return fields


def _compile(cls: type, *, positional_only: bool) -> Callable[..., Any]:
    """The generated constructor: ``__init__(self, ...)``, or a positional ``make(...)`` that also
    allocates (``positional_only``: every field a positional parameter, in declaration order)."""
    fields = _check(cls)
    building = type(
        f"_Building{cls.__name__}",
        (cls,),
        # both, so CPython sets the type's setattr slot to the plain C one (not a Python call)
        {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
    )
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_new": object.__new__,
        "_building": building,
        "_cls": cls,
    }
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for i, f in enumerate(fields):
        name: str = f.alias or f.name
        default: Any = f.default
        param = name
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"_factory{i}"] = default.factory
            namespace["_NOTHING"] = attrs.NOTHING
            param = f"{name}=_NOTHING"
            body.append(f"    if {name} is _NOTHING:\n        {name} = _factory{i}()")
        elif default is not attrs.NOTHING:
            namespace[f"_default{i}"] = default
            param = f"{name}=_default{i}"
        (keyword if f.kw_only and not positional_only else positional).append(param)
    params = [*positional, *(["*", *keyword] if keyword else [])]
    stores = [f"    self.{f.name} = {f.alias or f.name}" for f in fields]
    if positional_only:
        head = [f"def make({', '.join(params)}):", *body, "    self = _new(_building)"]
        tail = ["    self.__class__ = _cls", "    return self"]
    else:
        head = [f"def make(self, {', '.join(params)}):", *body, "    _set(self, '__class__', _building)"]
        tail = ["    self.__class__ = _cls"]
    source = "\n".join([*head, *stores, *tail])
    kind = "fast_maker" if positional_only else "fast_init"
    exec(compile(source, f"<{kind} of {cls.__module__}.{cls.__qualname__}>", "exec"), namespace)
    made: Callable[..., Any] = namespace["make"]
    return made


def fast_init(cls: type[T]) -> type[T]:
    """Class decorator (above ``@attrs.frozen``): the same ``__init__``, storing at slot speed."""
    init = _compile(cls, positional_only=False)
    init.__name__ = "__init__"
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__attrs_original_init__ = cls.__init__  # type: ignore[attr-defined]  # (for the tests)
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def fast_maker(cls: type[T]) -> Callable[..., T]:
    """A function making ``cls`` from all its fields as positional arguments (defaults as in the
    class), with no ``__init__`` call at all: for the one type made per input row (``Bar``)."""
    return _compile(cls, positional_only=True)
