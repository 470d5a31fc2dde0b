"""Orders, fills, signals, records, views and actions check their fields where they are built:
every bad field is refused with a message naming the class, the field and the value."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core import codec
from vibe_core.actions import (
    CancelOrder,
    FeedGap,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.models import AccountView, Fill, Order, PositionView, Signal, TradeRecord, derived_order
from vibe_core.testing import strategies as vs
from vibe_core.types import ExitReason, OrderType, Side, TimeInForce

NAN, INF = math.nan, math.inf
PRICE = [NAN, INF, -INF, 0.0, -0.01, "1.0", None]
OPTIONAL_PRICE = [NAN, INF, 0.0, -1.0, "1.0"]
SIZE = [NAN, INF, -1.0, "1", None]
FINITE = [NAN, INF, -INF, "1", None]
TS = [1.5, "1", None, True]
NAME = ["", None, 7]
TEXT = [None, 7]
QTY = [0, -1, 1.5, True, None, "10"]

BAD: dict[type, dict[str, list[Any]]] = {
    Order: {
        "id": NAME,
        "symbol": NAME,
        "side": ["buy", None],
        "qty": QTY,
        "type": ["market", None],
        "ts": TS,
        "tif": ["day", None],
        "stop_loss": OPTIONAL_PRICE,
        "take_profit": OPTIONAL_PRICE,
        "parent_id": [5],
        "tag": TEXT,
        "max_notional": [NAN, INF, -1.0, "5"],
    },
    Fill: {
        "order_id": NAME,
        "symbol": NAME,
        "side": ["sell", None],
        "qty": QTY,
        "price": PRICE,
        "ref_price": PRICE,
        "fee": SIZE,
        "ts": TS,
        "tag": TEXT,
    },
    Signal: {
        "symbol": NAME,
        "ts": TS,
        "side": ["buy"],
        "price": PRICE,
        "stop": PRICE,
        "target": PRICE,
        "strategy": NAME,
        "range_high": OPTIONAL_PRICE,
        "range_low": OPTIONAL_PRICE,
    },
    TradeRecord: {
        "symbol": NAME,
        "side": ["buy"],
        "qty": QTY,
        "entry_time": TS,
        "exit_time": TS,
        "entry_price": PRICE,
        "exit_price": PRICE,
        "pnl": FINITE,
        "fees": SIZE,
        "exit_reason": ["stop", None],
    },
    PositionView: {
        "symbol": NAME,
        "qty": [0, 1.5, None],
        "avg_price": PRICE,
        "last_price": PRICE,
        "unrealized_pnl": FINITE,
        "realized_pnl": FINITE,
    },
    AccountView: {
        "ts": TS,
        "cash": FINITE,
        "equity": FINITE,
        "realized_pnl": FINITE,
        "unrealized_pnl": FINITE,
        "gross_exposure": SIZE,
    },
    SubmitOrder: {"order": [None, "A-1"]},
    CancelOrder: {"ts": TS, "order_id": NAME, "reason": TEXT},
    Notify: {"ts": TS, "severity": ["info", None], "title": TEXT},
    TradeClosed: {"trade": [None]},
    SignalEvaluated: {"signal": [None], "accepted": [1, None], "qty": [-1, 1.0, None]},
    RiskHalted: {"ts": TS, "reason": TEXT, "session_start_equity": FINITE, "equity": FINITE},
    FeedGap: {"symbol": NAME, "start": TS, "end": TS, "reason": TEXT},
}
STRATEGY = {
    Order: vs.orders,
    Fill: vs.fills,
    Signal: vs.signals,
    TradeRecord: vs.trade_records,
    PositionView: vs.position_views,
    AccountView: vs.account_views,
    SubmitOrder: vs.submit_orders,
    CancelOrder: vs.cancel_orders,
    Notify: vs.notifies,
    TradeClosed: vs.trade_closed,
    SignalEvaluated: vs.signal_evaluated,
    RiskHalted: vs.risk_halted,
    FeedGap: vs.feed_gaps,
}
CASES = [
    (cls, name, value) for cls, fields in BAD.items() for name, values in fields.items() for value in values
]
IDS = [f"{c.__name__}.{n}={v!r}" for c, n, v in CASES]


@pytest.mark.parametrize(("cls", "name", "value"), CASES, ids=IDS)
@given(data=st.data())
@settings(max_examples=5, deadline=None)
def test_each_bad_field_is_refused_and_named(cls: type, name: str, value: Any, data: st.DataObject) -> None:
    good = data.draw(STRATEGY[cls]())
    with pytest.raises(
        ValueError, match=rf"^{cls.__name__}\.{name} must be .+, got {re.escape(repr(value))}$"
    ):
        attrs.evolve(good, **{name: value})


@pytest.mark.parametrize("cls", list(STRATEGY), ids=[c.__name__ for c in STRATEGY])
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_good_values_are_built_and_round_trip(cls: type, data: st.DataObject) -> None:
    value = data.draw(STRATEGY[cls]())
    assert attrs.evolve(value) == value
    assert codec.structure(codec.unstructure(value), cls) == value


def order(**kw: Any) -> Order:
    return Order(**{"id": "A-1", "symbol": "AAPL", "side": Side.BUY, "qty": 10, "ts": 0, **kw})


@pytest.mark.parametrize(
    ("kw", "field", "what"),
    [
        ({"type": OrderType.LIMIT}, "limit_price", "set for a limit or stop-limit order"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": 10.0}, "limit_price", "set for a limit or stop-limit"),
        ({"type": OrderType.STOP}, "stop_price", "set for a stop or stop-limit order"),
        ({"type": OrderType.STOP_LIMIT, "limit_price": 10.0}, "stop_price", "set for a stop or stop-limit"),
        ({"type": OrderType.LIMIT, "limit_price": NAN}, "limit_price", "None or a finite number > 0"),
        ({"type": OrderType.STOP, "stop_price": 0.0}, "stop_price", "None or a finite number > 0"),
    ],
)
def test_an_order_has_the_prices_its_type_needs(kw: dict[str, Any], field: str, what: str) -> None:
    with pytest.raises(ValueError, match=rf"^Order\.{field} must be {re.escape(what)}"):
        order(**kw)


def test_good_orders_of_every_type() -> None:
    assert order().type is OrderType.MARKET
    assert order(type=OrderType.LIMIT, limit_price=99.5).limit_price == 99.5
    assert order(type=OrderType.STOP, stop_price=98.0, tif=TimeInForce.GTC).stop_price == 98.0
    both = order(type=OrderType.STOP_LIMIT, stop_price=98.0, limit_price=97.5, max_notional=0.0)
    assert (both.stop_price, both.limit_price, both.max_notional) == (98.0, 97.5, 0.0)


def test_an_accepted_verdict_has_shares() -> None:
    signal = Signal(symbol="AAPL", ts=0, side=Side.BUY, price=100.0, stop=99.0, target=102.0)
    assert SignalEvaluated(signal=signal, accepted=False, qty=0).qty == 0
    with pytest.raises(ValueError, match=r"^SignalEvaluated\.qty must be > 0 when accepted, got 0$"):
        SignalEvaluated(signal=signal, accepted=True, qty=0)


def test_a_stop_on_the_wrong_side_is_a_signal_risk_refuses_not_an_error() -> None:
    s = Signal(symbol="AAPL", ts=0, side=Side.BUY, price=100.0, stop=101.0, target=99.0)
    assert s.stop > s.price


def test_a_round_trip_at_a_loss() -> None:
    r = TradeRecord(
        symbol="AAPL",
        side=Side.SELL,
        qty=3,
        entry_time=5,
        entry_price=10.0,
        exit_time=9,
        exit_price=12.0,
        pnl=-6.5,
        fees=0.5,
        exit_reason=ExitReason.STOP,
    )
    assert r.pnl == -6.5


def test_a_feed_gap_ends_at_or_after_its_start() -> None:
    assert FeedGap(symbol="*", start=5, end=5, reason="feed down").end == 5
    with pytest.raises(ValueError, match=r"^FeedGap\.end must be >= start, got 4$"):
        FeedGap(symbol="AAPL", start=5, end=4, reason="stale")


@settings(max_examples=50, deadline=None)
@given(
    qty=st.integers(1, 10**6),
    price=st.floats(0.01, 1e5),
    kind=st.sampled_from([OrderType.STOP, OrderType.LIMIT]),
    tif=st.sampled_from(list(TimeInForce)),
    ts=st.integers(0, 2**62),
)
def test_a_derived_order_is_the_checked_order_of_the_same_values(qty, price, kind, tif, ts):
    """The venue's bracket legs skip the checks (their values come from a checked order): the
    instance must be the one ``Order(...)`` builds, field for field, and encode alike."""
    limit, stop = (price, None) if kind is OrderType.LIMIT else (None, price)
    leg = derived_order("AAPL-20240315-1-sl", "AAPL", Side.SELL, qty, kind, ts, limit, stop, tif,
                        "AAPL-20240315-1", "stop", "orb")  # fmt: skip
    checked = Order(
        id="AAPL-20240315-1-sl", symbol="AAPL", side=Side.SELL, qty=qty, type=kind, ts=ts,
        limit_price=limit, stop_price=stop, tif=tif, parent_id="AAPL-20240315-1", tag="stop",
        strategy="orb",
    )  # fmt: skip
    assert leg == checked and hash(leg) == hash(checked) and repr(leg) == repr(checked)
    assert codec.unstructure(leg) == codec.unstructure(checked)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        leg.qty = 1  # type: ignore[misc]
