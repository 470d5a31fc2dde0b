"""Matching a point against a book, by hand: the order kind's price, liquidity used once across
orders, expiry and activation at a point, cold orders skipped, bracket legs matched at once."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from vibe_core.calendar import NEW_YORK, Session, SessionTable, datetime_to_ns
from vibe_core.config import PRESETS
from vibe_core.events import Filled, OrderAccepted, OrderCancelled
from vibe_core.models import Order
from vibe_core.sim.book import Book, Working
from vibe_core.sim.matching import At, Market, Matcher, match_price
from vibe_core.sim.ordertypes import kind_of
from vibe_core.sim.points import Point
from vibe_core.types import OrderStatus, OrderType, Side

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP
DAY = dt.date(2024, 3, 15)
OPEN = datetime_to_ns(dt.datetime.combine(DAY, dt.time(9, 30), tzinfo=NEW_YORK))
CLOSE = OPEN + 390 * 60 * 10**9
SESSIONS = SessionTable((Session(date=DAY, open=OPEN, close=CLOSE),))


def setup(preset: str = "optimistic", **changes) -> tuple[Matcher, Book]:
    book = Book()
    model = attrs.evolve(PRESETS[preset], **changes)
    return Matcher(model=model, seed=0, book=book, sessions=SESSIONS), book


def add(
    book: Book,
    oid: str,
    side: Side,
    qty: int,
    kind: OrderType = MARKET,
    *,
    active: int = OPEN,
    expires: int | None = CLOSE,
    status: OrderStatus = OrderStatus.ACCEPTED,
    **prices,
) -> Working:
    order = Order(id=oid, symbol="AAPL", side=side, qty=qty, type=kind, ts=OPEN, **prices)
    w = Working(order=order, kind=kind_of(kind), status=status, active_ts=active, expires=expires)
    book.add(w)
    return w


def match(
    matcher: Matcher,
    market: Market,
    ts: int,
    price: float,
    liquidity: float,
    *,
    jump: bool = True,
    cold: frozenset[str] = frozenset(),
) -> list:
    out: list = []
    at = At(ts=0, price=0.0, liquidity=0.0, remaining=0.0, range_pct=0.0)
    matcher.point("AAPL", market, Point(ts, price, liquidity, jump), at, True, cold, out)
    return out


def test_a_point_liquidity_is_used_once_across_orders():
    matcher, book = setup(max_participation=0.5)
    add(book, "a", BUY, 40)
    add(book, "b", BUY, 40)
    market = Market()
    out = match(matcher, market, OPEN + 1, 100.0, 100.0)
    assert [(r.fill.order_id, r.fill.qty) for r in out] == [("a", 40), ("b", 30)]  # <= 50% of 100, then of 60
    assert market.remaining == 30.0 and market.price == 100.0 and market.ts == OPEN + 1
    assert book.orders["b"].remaining == 10


def test_an_order_past_its_close_expires_and_one_not_active_yet_waits():
    matcher, book = setup()
    add(book, "late", BUY, 5, expires=OPEN + 10)
    add(book, "pending", BUY, 5, active=OPEN + 50, status=OrderStatus.PENDING)
    out = match(matcher, Market(), OPEN + 20, 100.0, 100.0)
    assert out == [OrderCancelled(ts=OPEN + 20, order_id="late", reason="expired")]
    assert book.orders["pending"].status is OrderStatus.PENDING
    out = match(matcher, Market(), OPEN + 60, 100.0, 100.0)
    assert [type(r) for r in out] == [Filled]  # activated at its first point, then matched


def test_cold_orders_are_skipped():
    matcher, book = setup()
    add(book, "a", BUY, 5)
    assert match(matcher, Market(), OPEN + 1, 100.0, 100.0, cold=frozenset({"a"})) == []


def test_a_continuous_step_fills_a_limit_at_its_level_and_its_bracket_at_once():
    matcher, book = setup()
    add(book, "p", BUY, 10, LIMIT, limit_price=99.0, stop_loss=98.5, take_profit=99.5)
    market = Market(price=100.0, ts=OPEN)
    out = match(matcher, market, OPEN + 100, 98.0, 40.0, jump=False)
    kinds = [(type(r).__name__, r.order_id if not isinstance(r, Filled) else r.fill.order_id) for r in out]
    # the entry fills at 99 on the way down; its stop (98.5) is crossed on the rest of the step
    assert kinds == [
        ("Filled", "p"),
        ("OrderAccepted", "p-sl"),
        ("OrderAccepted", "p-tp"),
        ("Filled", "p-sl"),
        ("OrderCancelled", "p-tp"),
    ]
    assert [r.fill.ref_price for r in out if isinstance(r, Filled)] == [99.0, 98.5]
    assert isinstance(out[1], OrderAccepted) and out[1].order is not None and out[1].order.parent_id == "p"
    assert book.orders == {}


def test_max_notional_caps_a_buy_and_cancels_the_rest():
    matcher, book = setup()
    add(book, "a", BUY, 10, max_notional=450.0)
    out = match(matcher, Market(), OPEN + 1, 100.0, 100.0)
    assert [type(r) for r in out] == [Filled, OrderCancelled]
    assert out[0].fill.qty == 4 and out[1].reason == "insufficient cash"


def test_a_close_fill_takes_the_whole_remainder_at_the_last_price():
    matcher, book = setup("pessimistic")
    w = add(book, "a", SELL, 500, status=OrderStatus.PENDING)
    out: list = []
    matcher.at_close(w, CLOSE, Market(price=50.0, ts=CLOSE - 1, range_pct=0.0), out)
    assert [(r.fill.qty, r.fill.ref_price, r.fill.ts) for r in out] == [(500, 50.0, CLOSE)]


@pytest.mark.parametrize(
    ("side", "kind", "levels", "start", "price", "continuous", "expected"),
    [
        (BUY, LIMIT, {"limit_price": 10.0}, 10.2, 9.8, True, 10.0),
        (SELL, STOP, {"stop_price": 10.0}, 10.2, 9.8, False, 9.8),
        (BUY, MARKET, {}, 10.2, 9.8, True, 9.8),
        (BUY, STOP, {"stop_price": 10.0}, 9.8, 9.9, True, None),
    ],
)
def test_match_price_is_the_kinds_rule(side, kind, levels, start, price, continuous, expected):
    o = Order(id="x", symbol="AAPL", side=side, qty=1, type=kind, ts=0, **levels)
    got = match_price(o, triggered=False, start=start, price=price, continuous=continuous)
    assert got == kind_of(kind).match(o, False, start, price, continuous)
    assert got[0] == expected
