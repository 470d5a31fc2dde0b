"""Faster construction for the slotted attrs value classes made on every trade.

attrs' frozen ``__init__`` stores each field through ``object.__setattr__`` (a C method wrapper
called with an argument tuple): about 1,200 machine instructions a field, so one ``Order`` cost
17,000 and a round trip (signal, orders, fills, records) about 170,000. :func:`fast_init` gives a
frozen class an ``__init__`` that turns the new instance, for the time of the stores, into a
private subclass whose ``__setattr__`` is the plain slot store, and then back: the same object, the
same fields, about a third of the cost. The instance is never seen half-built or with the other
class.

Calling a class with keywords costs more again: the type call packs them into a dict for
``__init__`` (about 5,000 instructions for a ``Fill``). So :func:`fast_init` also gives the class
(frozen or not) ``make``: a plain function taking the same fields, positionally or by keyword, that
allocates and stores with no ``__init__`` call at all (``Fill.make(...)``: about 3,400 instead of
8,400). Hot paths call ``make``; everything else keeps the ordinary constructor.

Only classes whose attrs ``__init__`` does nothing but store its arguments qualify (no validators,
converters, ``init=False`` fields, init hooks or ``__setattr__`` hooks); anything else raises
``TypeError`` at import. ``tests/vibe_core/test_fastinit.py`` checks every decorated class against
attrs' own ``__init__`` and ``make`` against the class; ``tests/vibe_core/test_events.py`` checks
``make_bar`` (``Bar.make``) against ``Bar(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["fast_init"]

T = TypeVar("T")

_HOOKS = ("__attrs_pre_init__", "__attrs_post_init__")


def _frozen(cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> bool:
    """Is ``cls`` frozen (else: it stores fields with no ``__setattr__`` hook)?"""
    setter: object = cls.__setattr__
    if setter is object.__setattr__:
        return False
    probe: Any = object.__new__(cls)
    try:
        probe.__setattr__(fields[0].name, None)
    except attrs.exceptions.FrozenInstanceError:
        return True
    raise TypeError(f"fast_init: {cls.__qualname__} has a __setattr__ hook")


def _check(cls: type) -> tuple[tuple[attrs.Attribute[Any], ...], bool]:
    """The fields of ``cls`` and whether it is frozen; raises ``TypeError`` when it does not qualify."""
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init: {cls.__qualname__} is not a slotted attrs class")
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    for f in fields:
        if f.validator is not None or f.converter is not None or not f.init:
            raise TypeError(f"fast_init: {cls.__qualname__}.{f.name}: validator, converter or init=False")
        default: Any = f.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            raise TypeError(f"fast_init: {cls.__qualname__}.{f.name} has a factory taking self")
    if any(hasattr(cls, hook) for hook in _HOOKS):
        raise TypeError(f"fast_init: {cls.__qualname__} has an init hook")
    if not fields:
        raise TypeError(f"fast_init: {cls.__qualname__} has no fields")
    return fields, _frozen(cls, fields)


def _compile(
    cls: type, fields: tuple[attrs.Attribute[Any], ...], building: type | None, *, maker: bool
) -> Callable[..., Any]:
    """The generated constructor: ``__init__(self, ...)`` of a frozen class, or (``maker``)
    ``make(...)``, which also allocates and takes every field positionally or by keyword.
    ``building``: the frozen class's private subclass with plain stores (``None``: not frozen)."""
    frozen = building is not None
    assert frozen or maker  # (a mutable class's own __init__ already stores directly)
    namespace: dict[str, Any] = {
        "_set": object.__setattr__,
        "_new": object.__new__,
        "_cls": cls,
        "_building": building,
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
        if maker:  # positional where Python allows: up to a required field after a defaulted one
            by_keyword = bool(keyword) or (param == name and any("=" in p for p in positional))
        else:
            by_keyword = f.kw_only
        (keyword if by_keyword else positional).append(param)
    params = [*positional, *(["*", *keyword] if keyword else [])]
    stores = [f"    self.{f.name} = {f.alias or f.name}" for f in fields]
    if maker:
        head = [f"def make({', '.join(params)}):", *body]
        head.append("    self = _new(_building)" if frozen else "    self = _new(_cls)")
        tail = ["    self.__class__ = _cls"] if frozen else []
        tail.append("    return self")
    else:
        head = [f"def make(self, {', '.join(params)}):", *body, "    _set(self, '__class__', _building)"]
        tail = ["    self.__class__ = _cls"]
    source = "\n".join([*head, *stores, *tail])
    kind = "make" if maker else "fast_init"
    exec(compile(source, f"<{kind} of {cls.__module__}.{cls.__qualname__}>", "exec"), namespace)
    made: Callable[..., Any] = namespace["make"]
    return made


def fast_init(cls: type[T]) -> type[T]:
    """Class decorator (above ``@attrs.frozen`` / ``@attrs.define``): ``cls.make``, and for a
    frozen class the same ``__init__`` storing at slot speed. The class declares
    ``make: ClassVar[Callable[..., <cls>]]`` for type checkers."""
    fields, frozen = _check(cls)
    building = None
    if frozen:
        building = type(
            f"_Building{cls.__name__}",
            (cls,),
            # both, so CPython sets the type's setattr slot to the plain C one (not a Python call)
            {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
        )
        init = _compile(cls, fields, building, maker=False)
        init.__name__ = "__init__"
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__doc__ = cls.__init__.__doc__
        cls.__attrs_original_init__ = cls.__init__  # type: ignore[attr-defined]  # (for the tests)
        cls.__init__ = init  # type: ignore[method-assign]
    make = _compile(cls, fields, building, maker=True)
    make.__qualname__ = f"{cls.__qualname__}.make"
    make.__doc__ = f"``{cls.__qualname__}(...)`` as a plain call: the fields positionally or by keyword."
    cls.make = staticmethod(make)  # type: ignore[attr-defined]
    return cls
