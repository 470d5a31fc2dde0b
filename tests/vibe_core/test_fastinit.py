"""fast_init: every decorated class builds exactly what attrs' own ``__init__`` builds, and stays
frozen; its ``make`` builds the same as its constructor."""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.actions import Notify, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.events import Bar, Filled, OrderAccepted, OrderCancelled, OrderRejected, Trade
from vibe_core.fastinit import fast_init
from vibe_core.models import Fill, Order, Signal, TradeRecord
from vibe_core.portfolio import Position
from vibe_core.risk import Exposure
from vibe_core.testing import strategies as vs
from vibe_core.types import Side

exposures = st.builds(
    Exposure,
    equity=vs.money(),
    cash=vs.money(),
    gross=vs.money(),
    open_positions=st.integers(0, 10),
)

DECORATED: list[tuple[type, Any]] = [
    (Order, vs.orders),
    (Fill, vs.fills),
    (Signal, vs.signals),
    (TradeRecord, vs.trade_records),
    (Notify, vs.notifies),
    (TradeClosed, vs.trade_closed),
    (SignalEvaluated, vs.signal_evaluated),
    (RiskHalted, vs.risk_halted),
    (Trade, vs.trades),
    (Bar, vs.bars),
    (OrderAccepted, vs.order_accepted),
    (OrderRejected, vs.order_rejected),
    (Filled, vs.filled),
    (OrderCancelled, vs.order_cancelled),
    (Exposure, lambda: exposures),
]


def by_attrs(cls: type, kwargs: dict[str, Any]) -> Any:
    """The instance attrs' generated ``__init__`` makes from ``kwargs``."""
    obj = object.__new__(cls)
    cls.__attrs_original_init__(obj, **kwargs)  # type: ignore[attr-defined]
    return obj


def fields_of(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in attrs.fields(type(obj)))


@pytest.mark.parametrize(("cls", "strategy"), DECORATED, ids=[c.__name__ for c, _ in DECORATED])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_same_fields_as_attrs_init_and_still_frozen(cls: type, strategy: Any, data: st.DataObject) -> None:
    drawn = data.draw(strategy())
    kwargs = {f.alias: getattr(drawn, f.name) for f in attrs.fields(cls)}
    fast, slow = cls(**kwargs), by_attrs(cls, kwargs)
    assert type(fast) is cls
    assert fields_of(fast) == fields_of(slow)
    assert fast == slow and hash(fast) == hash(slow)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.__setattr__(attrs.fields(cls)[0].name, None)
    made = cls.make(**kwargs)  # type: ignore[attr-defined]
    assert type(made) is cls
    assert fields_of(made) == fields_of(slow) and made == slow and hash(made) == hash(slow)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.__setattr__(attrs.fields(cls)[0].name, None)
    positional = [getattr(drawn, f.name) for f in attrs.fields(cls)]
    if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in inspect.signature(cls.make).parameters.values()):  # type: ignore[attr-defined]
        assert cls.make(*positional) == slow  # type: ignore[attr-defined]


MUTABLE: list[tuple[type, dict[str, Any]]] = [
    (
        Position,
        {"symbol": "AAPL", "qty": -3, "avg_price": 10.0, "entry_time": 7, "entry_qty": 3, "entry_cost": 30.0},
    ),
]


@pytest.mark.parametrize(("cls", "kwargs"), MUTABLE, ids=[c.__name__ for c, _ in MUTABLE])
def test_make_of_a_mutable_class_equals_its_constructor(cls: type, kwargs: dict[str, Any]) -> None:
    made, built = cls.make(**kwargs), cls(**kwargs)  # type: ignore[attr-defined]
    assert type(made) is cls and made == built and fields_of(made) == fields_of(built)
    name = attrs.fields(cls)[0].name
    setattr(made, name, getattr(built, name))  # still an ordinary mutable instance
    assert "__attrs_original_init__" not in cls.__dict__  # its own __init__ was kept


def test_defaults_and_errors_match_attrs() -> None:
    required = {"id": "A-1", "symbol": "AAPL", "side": Side.BUY, "qty": 10, "ts": 5}
    assert fields_of(Order(**required)) == fields_of(by_attrs(Order, required))
    with pytest.raises(TypeError, match="qty"):
        Order(id="A-1", symbol="AAPL", side=Side.BUY, ts=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Order("A-1", "AAPL", Side.BUY, 10, ts=5)  # type: ignore[misc]  # keyword-only, as attrs'


def test_factories_and_positional_fields() -> None:
    @fast_init
    @attrs.frozen
    class Point:
        x: int
        tags: list[str] = attrs.Factory(list)
        label: str = attrs.field(default="p", kw_only=True)

    a, b = Point(1), Point(2, ["t"], label="q")
    assert (a.x, a.tags, a.label) == (1, [], "p")
    assert (b.x, b.tags, b.label) == (2, ["t"], "q")
    assert Point(3).tags is not a.tags  # a fresh list each time


def test_refuses_classes_it_cannot_speed_up_safely() -> None:
    @attrs.define(slots=False)
    class Unslotted:
        x: int

    @attrs.define(on_setattr=lambda _inst, _attr, value: value)
    class SetHook:
        x: int

    @attrs.frozen
    class Validated:
        x: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Hooked:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Unslotted, SetHook, Validated, Hooked):
        with pytest.raises(TypeError, match="fast_init"):
            fast_init(cls)
