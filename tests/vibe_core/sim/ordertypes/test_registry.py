"""The order-type registry: every registered kind keeps the contract the venue relies on, and a
new type is one kind plus a registration (a toy market-if-touched order, matched by the venue)."""

from __future__ import annotations

import datetime as dt
import enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.calendar import NEW_YORK, Session, SessionTable, datetime_to_ns
from vibe_core.config import PRESETS
from vibe_core.events import Bar, Filled, OrderAccepted, OrderRejected
from vibe_core.models import Order
from vibe_core.sim.ordertypes import (
    LIMIT_KIND,
    MARKET_KIND,
    STOP_KIND,
    STOP_LIMIT_KIND,
    OrderKind,
    find,
    kind_of,
    register,
    registered,
    unregister,
)
from vibe_core.sim.venue import Venue
from vibe_core.types import NS_PER_SECOND, OrderType, Side, Timeframe

BUILT_IN = (MARKET_KIND, LIMIT_KIND, STOP_KIND, STOP_LIMIT_KIND)


def test_the_four_built_in_types_are_registered():
    assert {k.type for k in BUILT_IN} == set(OrderType)
    assert all(kind_of(k.type) is k and k in registered() for k in BUILT_IN)
    assert [(k.needs_limit, k.needs_stop, k.slips) for k in BUILT_IN] == [
        (False, False, True),
        (True, False, False),
        (False, True, True),
        (True, True, False),
    ]


def test_a_type_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register(OrderKind(type=OrderType.LIMIT, match=LIMIT_KIND.match, reach=LIMIT_KIND.reach))
    assert register(LIMIT_KIND) is LIMIT_KIND  # the same kind again: a no-op


price = st.integers(90, 110).map(float)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(BUILT_IN),
    side=st.sampled_from(list(Side)),
    levels=st.tuples(price, price),
    triggered=st.booleans(),
    start=price,
    end=price,
    continuous=st.booleans(),
)
def test_an_order_out_of_reach_of_a_range_never_matches_inside_it(
    kind, side, levels, triggered, start, end, continuous
):
    """The quiet band's premise: when no price of ``low..high`` meets the kind's reach, no step
    inside that range matches the order or changes its trigger."""
    order = Order(
        id="x",
        symbol="AAPL",
        side=side,
        qty=1,
        type=kind.type,
        ts=0,
        limit_price=levels[0] if kind.needs_limit else None,
        stop_price=levels[1] if kind.needs_stop else None,
    )
    where = kind.reach(order, triggered)
    low, high = min(start, end), max(start, end)
    if where is None or (high >= where[0] if where[1] else low <= where[0]):
        return  # reachable: nothing to check
    assert kind.match(order, triggered, start, end, continuous) == (None, triggered)


# -- a new order type: market-if-touched ---------------------------------------------------------


class ToyType(enum.Enum):
    """A test's own order type (``Order.type`` is an ``OrderType`` in the library)."""

    MARKET_IF_TOUCHED = "market_if_touched"


def touched(side: Side, level: float, price: float) -> bool:
    """A buy MIT is touched at or below its level (a dip to buy), a sell MIT at or above."""
    return price <= level if side is Side.BUY else price >= level


def mit_match(order, triggered, start, price, continuous):
    """Touched on a continuous step: a market order at the level; on a jump: at the price seen."""
    if triggered:
        return price, True
    level = order.stop_price
    if not touched(order.side, level, price):
        return None, False
    if continuous and not touched(order.side, level, start):
        return level, True
    return price, True


def mit_reach(order, triggered):
    return None if triggered else (order.stop_price, order.side is not Side.BUY)


MIT = OrderKind(type=ToyType.MARKET_IF_TOUCHED, match=mit_match, reach=mit_reach, needs_stop=True)

DAY = dt.date(2024, 3, 15)
OPEN = datetime_to_ns(dt.datetime.combine(DAY, dt.time(9, 30), tzinfo=NEW_YORK))
SESSIONS = SessionTable((Session(date=DAY, open=OPEN, close=OPEN + 390 * 60 * NS_PER_SECOND),))
BAR_NS = Timeframe.M5.ns


@pytest.fixture
def mit():
    register(MIT)
    yield MIT
    unregister(MIT.type)
    assert find(MIT.type) is None


def bar(k: int, o: float, h: float, lo: float, c: float) -> Bar:
    ts = OPEN + k * BAR_NS
    return Bar(symbol="AAPL", timeframe=Timeframe.M5, ts=ts, open=o, high=h, low=lo, close=c, volume=1e4)


def order(oid: str, side: Side, k: int, **prices: float) -> Order:
    return Order(
        id=oid,
        symbol="AAPL",
        side=side,
        qty=10,
        type=ToyType.MARKET_IF_TOUCHED,
        ts=OPEN + k * BAR_NS,
        **prices,
    )


@pytest.mark.parametrize("fast", [True, False])
def test_a_registered_toy_type_is_matched_by_the_venue(mit, fast):
    v = Venue(model=PRESETS["optimistic"], seed=0, symbols=frozenset({"AAPL"}), sessions=SESSIONS, fast=fast)
    assert v.on_bar(bar(0, 100.0, 100.1, 99.9, 100.0)) == []
    # a buy MIT under the market rests; the next bar dips through its level on the way down
    (accepted,) = v.submit(order("A-1", Side.BUY, 1, stop_price=99.5))
    assert isinstance(accepted, OrderAccepted)
    assert v.on_bar(bar(1, 100.0, 100.3, 99.8, 100.1)) == []  # not touched
    (filled,) = v.on_bar(bar(2, 100.0, 100.2, 99.2, 99.6))  # O, H 100.2, L 99.2 (crosses 99.5), C
    assert isinstance(filled, Filled)
    assert (filled.fill.ref_price, filled.fill.ts) == (99.5, OPEN + 2 * BAR_NS + 200 * NS_PER_SECOND)
    # a sell MIT already touched by the last price (99.6) fills at once, like a stop or a limit
    accepted, filled = v.submit(order("A-2", Side.SELL, 3, stop_price=99.0))
    assert isinstance(filled, Filled) and filled.fill.ref_price == 99.6
    # without its touch price it is refused, like a stop without a stop price
    (rejected,) = v.submit(order("A-3", Side.SELL, 3))
    assert isinstance(rejected, OrderRejected) and rejected.reason == "invalid price"


def test_an_unregistered_type_is_rejected_with_its_name():
    v = Venue(model=PRESETS["optimistic"], seed=0, symbols=frozenset({"AAPL"}), sessions=SESSIONS)
    (rejected,) = v.submit(order("A-1", Side.BUY, 1, stop_price=99.5))
    assert isinstance(rejected, OrderRejected)
    assert rejected.reason == "unsupported order type <ToyType.MARKET_IF_TOUCHED: 'market_if_touched'>"
    with pytest.raises(KeyError, match="market_if_touched"):
        kind_of(ToyType.MARKET_IF_TOUCHED)
