"""External-broker mode: the engine keeps the book of what it asked the broker for, driven here
through a deterministic fake broker (tests/fakes/broker.py) that accepts, rejects, fills in parts,
places bracket legs and cancels."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from tests.fakes.broker import FakeBroker

from vibe_core.actions import CancelOrder, EventRejected, Notify, SubmitOrder, TradeClosed
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.errors import InvariantViolation
from vibe_core.events import CloseAll, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order
from vibe_core.orders import transition
from vibe_core.snapshot import read_model
from vibe_core.testing.market import day_bars, events_for
from vibe_core.types import ExitReason, OrderStatus, Side
from vibe_live.broker import Broker

DAY = "2024-03-15"
ENTRY_ID = "AAPL-20240315-1"
RANGE = [
    (100.0, 101.0, 99.5, 100.5, 1000.0),
    (100.5, 100.8, 99.8, 100.2, 1000.0),
    (100.2, 100.9, 99.9, 100.6, 1000.0),
]
BREAKOUT = (100.6, 101.4, 100.5, 101.3, 1000.0)
QTY = 19  # min(1% risk / (101.3 - 99.5), 20% of equity / 101.3) shares
FILL_PRICE = 101.5


def config():
    return config_from_dict(
        {"symbols": ["AAPL", "MSFT"], "exchange": {"preset": "optimistic"}, "validation": {"enabled": False}}
    )


@pytest.fixture
def day(sessions):
    s = sessions.for_date(dt.date.fromisoformat(DAY))
    n = (s.close - s.open) // (5 * 60 * 10**9)
    rows = [*RANGE, BREAKOUT]
    rows += [(101.3, 101.4, 101.2, 101.3, 1000.0)] * (n - len(rows))
    return s, events_for([(s, [day_bars(s, "AAPL", rows)])])


def drive(state, broker, events):
    """Step each event, hand the actions to the broker and step its answers, until quiet."""
    out = []
    queue = list(events)
    while queue:
        state, actions = step(state, queue.pop(0))
        out += actions
        queue[:0] = broker.on_actions(actions)
    return state, out


def answer(state, broker, events):
    """Step the broker's own events (fills of legs the market reached, ...)."""
    return drive(state, broker, events)


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def until_entry(sessions, day, broker):
    _s, events = day
    state = new_state(config(), sessions, external_broker=True)
    return drive(state, broker, events[:5])  # range, breakout, then the bar that sees the signal


def test_entry_is_sent_filled_and_its_legs_are_booked(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    state, actions = until_entry(sessions, day, broker)
    (submit,) = of(actions, SubmitOrder)
    assert (submit.order.id, submit.order.qty, submit.order.side) == (ENTRY_ID, QTY, Side.BUY)
    assert submit.order.stop_loss == 99.5 and submit.order.take_profit is not None
    assert state.portfolio.position_qty("AAPL") == QTY
    assert state.book is not None and state.book.orders[ENTRY_ID].status is OrderStatus.FILLED
    legs = [o.id for o in read_model(state).working_orders]
    assert legs == [f"{ENTRY_ID}-sl", f"{ENTRY_ID}-tp"]
    assert not state.pending and not of(actions, EventRejected)


def test_partial_fills_book_each_part_and_a_pair_of_legs_per_fill(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE}, parts=(0.5, 0.5))
    state, _ = until_entry(sessions, day, broker)
    assert state.portfolio.position_qty("AAPL") == QTY
    assert state.book.orders[ENTRY_ID].filled == QTY
    working = {o.id: o.qty for o in state.book.working()}
    assert working == {
        f"{ENTRY_ID}-sl": QTY // 2,
        f"{ENTRY_ID}-tp": QTY // 2,
        f"{ENTRY_ID}-sl-2": QTY - QTY // 2,
        f"{ENTRY_ID}-tp-2": QTY - QTY // 2,
    }


def test_a_pending_entry_is_held_until_filled_then_released(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE}, hold_fills=True)
    state, _ = until_entry(sessions, day, broker)
    assert state.book.orders[ENTRY_ID].status is OrderStatus.ACCEPTED
    assert "AAPL" in state.pending  # its cash stays reserved
    ts = state.now + 1
    state, _ = answer(state, broker, broker.fill(ENTRY_ID, 5, FILL_PRICE, ts))
    assert state.book.orders[ENTRY_ID].status is OrderStatus.PARTIALLY_FILLED
    assert state.pending["AAPL"].reserved == pytest.approx((QTY - 5) * 101.3)
    state, _ = answer(state, broker, broker.fill(ENTRY_ID, QTY - 5, FILL_PRICE, ts))
    assert not state.pending and state.portfolio.position_qty("AAPL") == QTY


def test_a_stop_leg_fill_closes_the_trade_and_cancels_the_target(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    state, _ = until_entry(sessions, day, broker)
    state, actions = answer(state, broker, broker.touch("AAPL", 99.4, state.now + 1))
    (closed,) = of(actions, TradeClosed)
    assert closed.trade.exit_reason is ExitReason.STOP and closed.trade.qty == QTY
    assert state.book.working() == [] and state.portfolio.positions == {}
    assert state.book.orders[f"{ENTRY_ID}-tp"].status is OrderStatus.CANCELLED


@pytest.mark.parametrize("how", ["eod", "close_all"])
def test_flatten_cancels_the_legs_the_broker_holds_then_sends_a_market_order(sessions, day, how):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    state, _ = until_entry(sessions, day, broker)
    _s, events = day
    if how == "eod":
        state, actions = drive(state, broker, events[5:])
    else:
        state, actions = drive(state, broker, [CloseAll(ts=state.now + 60 * 10**9)])
    sent = [a for a in actions if isinstance(a, CancelOrder | SubmitOrder)]
    assert [type(a) for a in sent] == [CancelOrder, CancelOrder, SubmitOrder]
    assert [a.order_id for a in sent[:2]] == [f"{ENTRY_ID}-sl", f"{ENTRY_ID}-tp"]
    flatten = sent[2].order
    assert (flatten.side, flatten.qty, flatten.tag) == (Side.SELL, QTY, how)
    assert broker.working == {}
    (closed,) = of(actions, TradeClosed)
    assert closed.trade.exit_reason is ExitReason(how)
    assert state.portfolio.positions == {} and state.book.working() == []


def test_events_for_orders_the_engine_never_sent_are_rejected_records(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    state, _ = until_entry(sessions, day, broker)
    ts = state.now + 1
    sl = f"{ENTRY_ID}-sl"

    def fill(order_id, qty, side=Side.SELL):
        f = Fill(
            order_id=order_id, symbol="AAPL", side=side, qty=qty, price=99.0, ref_price=99.0, fee=0.0, ts=ts
        )
        return Filled(ts=ts, fill=f)

    bad = {
        "unknown order": [
            fill("AAPL-20240315-9", 1),
            OrderCancelled(ts=ts, order_id="MSFT-20240315-1", reason="x"),
            OrderAccepted(ts=ts, order_id="AAPL-20240315-9"),
        ],
        "fill above remaining": [fill(sl, QTY + 1)],
        "fill does not match order": [fill(sl, 1, side=Side.BUY)],
        "order not pending": [
            OrderAccepted(ts=ts, order_id=ENTRY_ID),
            OrderRejected(ts=ts, order_id=ENTRY_ID, symbol="AAPL", reason="late"),
        ],
        "order not working": [OrderCancelled(ts=ts, order_id=ENTRY_ID, reason="late")],
    }
    before = save_state(state)
    for reason, events in bad.items():
        for event in events:
            state, actions = step(state, event)
            assert [(type(a), a.reason) for a in actions] == [(EventRejected, reason)], event
            assert actions[0].event is event
    after = save_state(state)
    counts = after.pop("rejected")
    before.pop("rejected")
    assert after == before
    assert counts == {reason: len(events) for reason, events in bad.items()}
    assert dict(read_model(state).rejected_events) == counts


def test_a_rejected_entry_frees_its_reservation_and_notifies(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE}, reject={"AAPL": "insufficient buying power"})
    state, actions = until_entry(sessions, day, broker)
    assert state.book.orders[ENTRY_ID].status is OrderStatus.REJECTED
    assert not state.pending and state.portfolio.positions == {}
    assert any(isinstance(a, Notify) and "rejected" in a.title for a in actions)


def test_restart_from_a_saved_state_mid_session_continues_like_no_restart(sessions, day):
    _s, events = day
    straight = FakeBroker(prices={"AAPL": FILL_PRICE}, parts=(0.4, 0.6))
    state, expected = drive(new_state(config(), sessions, external_broker=True), straight, events)
    for cut in (5, 20, len(events) - 3):
        broker = FakeBroker(prices={"AAPL": FILL_PRICE}, parts=(0.4, 0.6))
        s1, got = drive(new_state(config(), sessions, external_broker=True), broker, events[:cut])
        s1 = load_state(json.loads(json.dumps(save_state(s1))), sessions)
        s1, rest = drive(s1, broker, events[cut:])
        assert got + rest == expected
        assert save_state(s1) == save_state(state)
    assert of(expected, TradeClosed)[0].trade.exit_reason is ExitReason.EOD


def test_the_fake_broker_speaks_the_broker_protocol(sessions):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    assert isinstance(broker, Broker)
    order = Order(id=ENTRY_ID, symbol="AAPL", side=Side.BUY, qty=3, ts=1)

    async def run():
        await broker.submit(order)
        await broker.submit(order)  # idempotent by id
        return [event async for event in broker.events()]

    events = asyncio.run(run())
    assert [type(e) for e in events] == [OrderAccepted, Filled]
    assert events[1].fill.qty == 3 and events[1].fill.price == FILL_PRICE


def test_booking_an_unchecked_broker_event_is_a_broken_invariant(sessions, day):
    broker = FakeBroker(prices={"AAPL": FILL_PRICE})
    state, _ = until_entry(sessions, day, broker)
    with pytest.raises(InvariantViolation, match="unknown order"):
        state.book.apply(OrderCancelled(ts=state.now, order_id="AAPL-20240315-9", reason="x"))
    with pytest.raises(InvariantViolation, match="cannot take 'accept'"):
        transition(OrderStatus.FILLED, "accept")
