"""The venue's book: orders and per-symbol lists agree, the cached band always equals the band
recomputed from scratch (it is dropped in one place), ids are remembered for two sessions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.events import OrderCancelled
from vibe_core.models import Order
from vibe_core.orders import InvalidTransition
from vibe_core.sim.book import PROGRESS, Book, Working
from vibe_core.sim.ordertypes import kind_of
from vibe_core.sim.quiet import band_of
from vibe_core.types import OrderStatus, OrderType, Side

SYMBOLS = ("AAPL", "MSFT")


def working(
    oid: str,
    symbol: str = "AAPL",
    *,
    kind: OrderType = OrderType.LIMIT,
    level: float = 10.0,
    side: Side = Side.BUY,
    status: OrderStatus = OrderStatus.ACCEPTED,
    expires: int | None = None,
    qty: int = 10,
) -> Working:
    prices = {"limit_price": level} if kind_of(kind).needs_limit else {}
    if kind_of(kind).needs_stop:
        prices["stop_price"] = level
    order = Order(id=oid, symbol=symbol, side=side, qty=qty, type=kind, ts=0, **prices)
    return Working(order=order, kind=kind_of(kind), status=status, active_ts=0, expires=expires)


def test_add_and_drop_keep_orders_and_lists_in_time_priority():
    book = Book()
    a, b, c = working("a"), working("b", "MSFT"), working("c")
    for w in (a, b, c):
        book.add(w)
    assert list(book.orders) == ["a", "b", "c"]
    assert book.by_symbol == {"AAPL": [a, c], "MSFT": [b]}
    book.drop(b)
    assert book.by_symbol == {"AAPL": [a, c]}  # a symbol with no working order has no list
    assert book.known("a") and not book.known("b")


def test_fill_finish_and_link():
    book = Book()
    a, b = working("a", qty=10), working("b", qty=10)
    book.add(a)
    book.add(b)
    book.link(a, b)
    assert (a.sibling, b.sibling) == ("b", "a")
    assert book.fill(a, 4, 40.0) is False and a.status is OrderStatus.PARTIALLY_FILLED
    assert (a.filled, a.spent, a.remaining) == (4, 40.0, 6)
    assert book.fill(a, 6, 60.0) is True and "a" not in book.orders
    assert book.finish(b, "cancel", 7, "oco") == OrderCancelled(ts=7, order_id="b", reason="oco")
    assert b.status is OrderStatus.CANCELLED and book.orders == {}
    with pytest.raises(InvalidTransition):
        book.finish(b, "cancel", 8, "again")


def test_expiry_and_activation_times():
    book = Book()
    book.add(working("a", expires=500))
    book.add(working("b", expires=300, status=OrderStatus.PENDING))
    book.orders["b"].active_ts = 120
    book.add(working("c"))
    assert book.next_expiry == 300 and book.next_activation() == 120
    assert [w.order.id for w in book.due(400)] == ["b"]
    book.finish(book.orders["b"], "expire", 400, "expired")
    book.refresh_expiry()
    assert book.next_expiry == 500 and book.next_activation() is None


def test_ids_are_remembered_for_the_current_and_previous_session():
    book = Book()
    book.remember("d0", 0)
    book.remember("d1", 1)
    assert book.known("d0") and book.known("d1")
    book.remember("d2", 2)
    assert not book.known("d0") and book.known("d1") and book.recent_session == 2


def test_progress_is_the_snapshot_fields():
    w = working("a")
    assert list(w.progress()) == list(PROGRESS)
    assert w.progress()["draws"] == 1


op = st.tuples(
    st.sampled_from(["add", "drop", "activate", "trigger", "untrigger"]),
    st.sampled_from(SYMBOLS),
    st.sampled_from(list(OrderType)),
    st.sampled_from(list(Side)),
    st.integers(95, 105).map(float),
    st.booleans(),
    st.integers(0, 99),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=40))
def test_the_cached_band_always_equals_the_band_from_scratch(ops):
    book = Book()
    n = 0
    for name, symbol, kind, side, level, pending, pick in ops:
        own = book.by_symbol.get(symbol, [])
        if name == "add":
            n += 1
            status = OrderStatus.PENDING if pending else OrderStatus.ACCEPTED
            expires = None if pending else 1000 + n
            book.add(
                working(f"o{n}", symbol, kind=kind, level=level, side=side, status=status, expires=expires)
            )
        elif own:
            w = own[pick % len(own)]
            if name == "drop":
                book.drop(w)
            elif name == "activate" and w.status is OrderStatus.PENDING:
                book.activate(w)
            elif name in ("trigger", "untrigger"):
                book.set_triggered(w, name == "trigger")
        for s in SYMBOLS:  # reading a band caches it; the next change must drop it
            if s in book.by_symbol:
                assert book.band(s, book.by_symbol[s]) == band_of(book.by_symbol[s])
        assert list(book.orders) == [
            i for i in book.orders if book.orders[i] in book.by_symbol[book.orders[i].order.symbol]
        ]
        assert sum(len(v) for v in book.by_symbol.values()) == len(book.orders)
