"""Events check their fields where they are built: every bad field is refused with a message naming
the class, the field and the value; every good event is built and survives the codec."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core import codec
from vibe_core.events import (
    EVENT_TYPES,
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.testing import strategies as vs
from vibe_core.testing.builders import T0, bar, order
from vibe_core.types import Timeframe

NAN, INF = math.nan, math.inf
PRICE = [NAN, INF, -INF, 0.0, -1.0, "1.0", None]
SIZE = [NAN, INF, -1.0, -1e-9, "1", None]
TS = [1.5, "1", None, True]
TS_RECV = [1.5, "1", True]
NAME = ["", None, 5]
TEXT = [None, 5]

BAD: dict[type, dict[str, list[Any]]] = {
    Trade: {"symbol": NAME, "ts": TS, "price": PRICE, "size": SIZE, "ts_recv": TS_RECV},
    Bar: {
        "symbol": NAME,
        "timeframe": [300, "5m", None],
        "ts": TS,
        "open": PRICE,
        "high": PRICE,
        "low": PRICE,
        "close": PRICE,
        "volume": SIZE,
        "source": TEXT,
        "ts_recv": TS_RECV,
    },
    BarSlice: {"ts": TS, "ts_recv": TS_RECV},
    Clock: {"ts": TS, "ts_recv": TS_RECV},
    OrderAccepted: {"ts": TS, "order_id": NAME, "ts_recv": TS_RECV},
    OrderRejected: {"ts": TS, "order_id": NAME, "symbol": NAME, "reason": TEXT, "ts_recv": TS_RECV},
    Filled: {"ts": TS, "fill": [None, "fill"], "ts_recv": TS_RECV},
    OrderCancelled: {"ts": TS, "order_id": NAME, "reason": TEXT, "ts_recv": TS_RECV},
    Pause: {"ts": TS, "reason": TEXT, "ts_recv": TS_RECV},
    Resume: {"ts": TS, "ts_recv": TS_RECV},
    CloseAll: {"ts": TS, "reason": TEXT, "ts_recv": TS_RECV},
    FeedStatus: {"ts": TS, "connected": [1, "true", None], "reason": TEXT, "ts_recv": TS_RECV},
}
STRATEGY = {
    Trade: vs.trades,
    Bar: vs.bars,
    BarSlice: vs.bar_slices,
    Clock: vs.clocks,
    OrderAccepted: vs.order_accepted,
    OrderRejected: vs.order_rejected,
    Filled: vs.filled,
    OrderCancelled: vs.order_cancelled,
    Pause: vs.pauses,
    Resume: vs.resumes,
    CloseAll: vs.close_alls,
    FeedStatus: vs.feed_statuses,
}
CASES = [
    (cls, name, value) for cls, fields in BAD.items() for name, values in fields.items() for value in values
]
IDS = [f"{c.__name__}.{n}={v!r}" for c, n, v in CASES]


def names(cls: type, name: str, value: Any) -> str:
    return rf"^{cls.__name__}\.{name} must be .+, got {re.escape(repr(value))}$"


def test_every_event_class_is_covered() -> None:
    assert set(BAD) == set(EVENT_TYPES) == set(STRATEGY)


def test_every_event_may_carry_ts_recv() -> None:
    assert all("ts_recv" in attrs.fields_dict(cls) for cls in EVENT_TYPES)


@pytest.mark.parametrize(("cls", "name", "value"), CASES, ids=IDS)
@given(data=st.data())
@settings(max_examples=5, deadline=None)
def test_each_bad_field_is_refused_and_named(cls: type, name: str, value: Any, data: st.DataObject) -> None:
    good = data.draw(STRATEGY[cls]())
    with pytest.raises(ValueError, match=names(cls, name, value)):
        attrs.evolve(good, **{name: value})


@given(vs.events())
@settings(max_examples=200, deadline=None)
def test_valid_events_are_built_and_round_trip_the_codec(event: Event) -> None:
    data = codec.event_to_dict(event)
    assert codec.event_from_dict(data) == event
    assert attrs.evolve(event) == event  # (built again through the checks)


@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_invalid_events_never_construct_even_through_the_codec(data: st.DataObject) -> None:
    cls, name, value = data.draw(st.sampled_from(CASES))
    good = data.draw(STRATEGY[cls]())
    raw = {**codec.event_to_dict(good), name: value}
    try:
        built = codec.event_from_dict(raw)
    except (ValueError, TypeError, cattrs.BaseValidationError):
        return
    # the converter may turn a wrong type into a right one ("1" -> 1): then the checks saw a good value
    checked = {f: getattr(built, f) for f in BAD[cls]}
    assert checked[name] != value or type(checked[name]) is not type(value)
    assert attrs.evolve(built) == built


# -- the relations between fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"high": 99.0}, "high"),  # below the open
        ({"close": 102.0}, "high"),  # close above the high
        ({"low": 100.5}, "low"),  # above the open
        ({"close": 98.0}, "low"),  # close below the low
    ],
)
def test_bar_extremes_must_hold_open_and_close(change: dict[str, float], field: str) -> None:
    kwargs = {"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, **change}
    with pytest.raises(ValueError, match=rf"^Bar\.{field} must be [<>]= open and close, got "):
        bar(**kwargs)


def test_good_bars_pass_at_their_limits() -> None:
    flat = bar(open=100.0, high=100.0, low=100.0, close=100.0, volume=0.0)
    assert (flat.high, flat.low, flat.volume) == (100.0, 100.0, 0.0)
    assert bar(open=1e-6, high=1e300, low=1e-9, close=1.0).high == 1e300
    assert bar(timeframe=Timeframe.H1, ts=T0).end == T0 + 3600 * 10**9


def test_order_accepted_holds_its_own_order_only() -> None:
    o = order(id="A-1")
    assert OrderAccepted(ts=1, order_id="A-1", order=o).order is o
    with pytest.raises(ValueError, match=r"^OrderAccepted\.order must be None or the Order with id order_id"):
        OrderAccepted(ts=1, order_id="B-1", order=o)


def test_bar_slice_holds_bars_of_its_own_open_time_only() -> None:
    a = bar(symbol="AAPL", ts=0)
    b = bar(symbol="MSFT", ts=0)
    assert BarSlice(ts=0, bars=[a, b]).bars == (a, b)  # any sequence, kept as a tuple
    with pytest.raises(ValueError, match="MSFT 5m bar opens at 300000000000"):
        BarSlice(ts=0, bars=(a, attrs.evolve(b, ts=300 * 10**9)))
    with pytest.raises(ValueError, match=r"^BarSlice\.bars must hold Bars, got 'AAPL'"):
        BarSlice(ts=0, bars=(a, "AAPL"))  # type: ignore[arg-type]


def test_ints_and_floats_are_both_numbers() -> None:
    t = Trade(symbol="AAPL", ts=T0, price=100, size=0)
    assert (t.price, t.size) == (100, 0)
