"""The quiet-band fast path changes nothing: the venue with ``fast=True`` and with ``fast=False``
give identical records and identical snapshots, over random books and random bar/print paths.

Books hold orders of every registered type, both sides, brackets, DAY and GTC, fill delays, cash
caps and partial fills; paths are bars and prints near the orders' levels (so they trigger and
fill) and far from them (so the fast path skips them), session closes and restarts.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from vibe_core.calendar import NEW_YORK, Session, SessionTable, datetime_to_ns
from vibe_core.config import PRESETS
from vibe_core.events import Bar, Filled, Trade
from vibe_core.models import Order
from vibe_core.sim.book import Working
from vibe_core.sim.ordertypes import kind_of
from vibe_core.sim.quiet import band_of, cold, cold_if_acting, inside, may_act, reachable
from vibe_core.sim.venue import Venue
from vibe_core.types import NS_PER_MS, NS_PER_SECOND, OrderStatus, OrderType, Side, Timeframe, TimeInForce

DAYS = (dt.date(2024, 3, 15), dt.date(2024, 3, 18))
SESSIONS = SessionTable(
    tuple(
        Session(
            date=d,
            open=datetime_to_ns(dt.datetime.combine(d, dt.time(9, 30), tzinfo=NEW_YORK)),
            close=datetime_to_ns(dt.datetime.combine(d, dt.time(16, 0), tzinfo=NEW_YORK)),
        )
        for d in DAYS
    )
)
SYMBOLS = ("AAPL", "MSFT")
BAR_NS = Timeframe.M5.ns
MODELS = {
    **PRESETS,
    "eager": attrs.evolve(PRESETS["base"], partial_probability=1.0, max_participation=0.5),
    "slow": attrs.evolve(PRESETS["base"], fill_delay_ms_min=0, fill_delay_ms_max=400_000),
}
TICK = 0.25
S = NS_PER_SECOND
#: every type, stops twice as often: a stop left triggered but unfilled moves its reach, which
#: the fast path must see
STOP_HEAVY = st.sampled_from([*OrderType, OrderType.STOP, OrderType.STOP_LIMIT])


def working(order: Order, *, status: OrderStatus = OrderStatus.ACCEPTED, triggered: bool = False) -> Working:
    return Working(
        order=order, kind=kind_of(order.type), status=status, active_ts=0, expires=None, triggered=triggered
    )


def order(oid: str, side: Side, kind: OrderType, **prices: float) -> Order:
    return Order(id=oid, symbol="X", side=side, qty=1, type=kind, ts=0, **prices)


def test_reachable_orders_by_kind_and_side():
    buy_stop = working(
        Order(id="a", symbol="X", side=Side.BUY, qty=1, type=OrderType.STOP, ts=0, stop_price=10)
    )
    sell_limit = working(
        Order(id="b", symbol="X", side=Side.SELL, qty=1, type=OrderType.LIMIT, ts=0, limit_price=10)
    )
    buy_limit = working(
        Order(id="c", symbol="X", side=Side.BUY, qty=1, type=OrderType.LIMIT, ts=0, limit_price=9)
    )
    assert reachable(buy_stop, 9.0, 10.0) and not reachable(buy_stop, 9.0, 9.99)
    assert reachable(sell_limit, 9.0, 10.0) and not reachable(sell_limit, 9.0, 9.99)
    assert reachable(buy_limit, 9.0, 9.5) and not reachable(buy_limit, 9.01, 9.5)
    assert band_of([buy_stop, sell_limit, buy_limit]) == (9.0, 10.0, math.inf)
    assert inside((9.0, 10.0, math.inf), 9.01, 9.99, 0) and not inside((9.0, 10.0, math.inf), 9.0, 9.5, 0)
    assert cold([buy_stop, sell_limit, buy_limit], 9.5, 9.8) == frozenset({"a", "b", "c"})
    assert not may_act([buy_stop, sell_limit, buy_limit], 9.5, 9.8, 0)


@settings(max_examples=200, deadline=None)
@given(
    legs=st.lists(
        st.tuples(
            STOP_HEAVY,
            st.sampled_from(list(Side)),
            st.floats(8.0, 12.0),
            st.booleans(),
            st.booleans(),
            st.one_of(st.none(), st.integers(0, 4)),  # (expiries at, before and after the end)
        ),
        max_size=4,
    ),
    low=st.floats(7.0, 13.0),
    span=st.floats(0.0, 3.0),
    end=st.integers(0, 4),
)
def test_cold_if_acting_is_cold_when_some_order_may_act(legs, low, span, end):
    """The venue's one pass over a symbol's orders answers what ``may_act`` and ``cold`` answer."""
    book = []
    for i, (kind, side, level, pending, triggered, expires) in enumerate(legs):
        prices = {"limit_price": level} if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else {}
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            prices["stop_price"] = level + 0.5 if side is Side.BUY else level - 0.5
        w = working(
            order(f"o{i}", side, kind, **prices),
            status=OrderStatus.PENDING if pending else OrderStatus.ACCEPTED,
            triggered=triggered and kind in (OrderType.STOP, OrderType.STOP_LIMIT),
        )
        book.append(attrs.evolve(w, expires=expires))
    high = low + span
    expected = cold(book, low, high) if may_act(book, low, high, end) else None
    assert cold_if_acting(book, low, high, end) == expected


def test_market_pending_and_expiring_orders_may_act_in_any_bar():
    market = working(order("m", Side.BUY, OrderType.MARKET))
    limit = order("l", Side.BUY, OrderType.LIMIT, limit_price=1)
    pending = working(limit, status=OrderStatus.PENDING)
    expiring = attrs.evolve(working(limit), expires=100)
    assert band_of([market]) == (math.inf, -math.inf, math.inf)
    assert band_of([pending])[:2] == (math.inf, -math.inf)
    assert may_act([pending], 50.0, 60.0, 0)
    assert band_of([expiring]) == (1.0, math.inf, 100)
    assert may_act([expiring], 50.0, 60.0, 100) and not may_act([expiring], 50.0, 60.0, 99)


@pytest.mark.parametrize("fast", [True, False])
def test_a_triggered_stop_limit_is_matched_as_a_limit_in_bars_below_its_stop(fast):
    """Triggering moves a stop-limit's reach from its stop to its limit: a bar under the stop that
    reaches the limit is not quiet any more."""
    open_ = SESSIONS.sessions[0].open
    v = Venue(model=PRESETS["optimistic"], seed=0, symbols=frozenset(SYMBOLS), sessions=SESSIONS, fast=fast)

    def bar(k: int, o: float, h: float, lo: float, c: float) -> Bar:
        return Bar(
            symbol="AAPL",
            timeframe=Timeframe.M5,
            ts=open_ + k * BAR_NS,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=1e4,
        )

    assert v.on_bar(bar(0, 100.0, 100.1, 99.9, 100.0)) == []
    stop_limit = Order(
        id="A-1",
        symbol="AAPL",
        side=Side.BUY,
        qty=10,
        type=OrderType.STOP_LIMIT,
        ts=open_ + BAR_NS,
        stop_price=101.0,
        limit_price=100.5,
    )
    assert [type(r).__name__ for r in v.submit(stop_limit)] == ["OrderAccepted"]
    assert v.on_bar(bar(1, 100.8, 101.2, 100.7, 101.1)) == []  # triggers at 101, rests at 100.5
    (filled,) = v.on_bar(bar(2, 100.9, 100.95, 100.4, 100.6))  # under the stop, through the limit
    assert isinstance(filled, Filled)
    assert (filled.fill.ref_price, filled.fill.ts) == (100.5, open_ + 2 * BAR_NS + 200 * S)


class FastEqualsNaive(RuleBasedStateMachine):
    @initialize(
        preset=st.sampled_from(sorted(MODELS)), seed=st.integers(0, 2**32), n_symbols=st.integers(1, 2)
    )
    def setup(self, preset: str, seed: int, n_symbols: int) -> None:
        self.symbols = SYMBOLS[:n_symbols]
        self.model = MODELS[preset]
        self.fast = Venue(model=self.model, seed=seed, symbols=frozenset(SYMBOLS), sessions=SESSIONS)
        self.naive = Venue(
            model=self.model, seed=seed, symbols=frozenset(SYMBOLS), sessions=SESSIONS, fast=False
        )
        self.day = 0
        self.now = SESSIONS.sessions[0].open
        self.ref = dict.fromkeys(SYMBOLS, 100.0)
        self.seq = 0

    def both(self, call):
        got, want = call(self.fast), call(self.naive)
        assert got == want
        return got

    @property
    def session(self) -> Session:
        return SESSIONS.sessions[self.day]

    @precondition(lambda self: self.now < self.session.close)
    @rule(data=st.data())
    def submit(self, data):
        symbol = data.draw(st.sampled_from(self.symbols))
        side = data.draw(st.sampled_from(list(Side)))
        kind = data.draw(STOP_HEAVY)
        ref = self.ref[symbol]
        level = st.integers(-12, 12).map(lambda k: round(ref + k * TICK, 2))
        prices = {}
        if kind_of(kind).needs_limit:
            prices["limit_price"] = data.draw(level)
        if kind_of(kind).needs_stop:
            prices["stop_price"] = data.draw(level)
        if data.draw(st.booleans()):
            sign = side.sign
            if data.draw(st.booleans()):
                prices["stop_loss"] = round(ref - sign * data.draw(st.integers(1, 12)) * TICK, 2)
            if data.draw(st.booleans()):
                prices["take_profit"] = round(ref + sign * data.draw(st.integers(1, 12)) * TICK, 2)
        self.seq += 1
        order = Order(
            id=f"{symbol}-{self.seq}",
            symbol=symbol,
            side=side,
            qty=data.draw(st.integers(1, 300)),
            type=kind,
            ts=self.now,
            tif=data.draw(st.sampled_from(list(TimeInForce))),
            max_notional=data.draw(st.none() | st.floats(0, 30_000)) if side is Side.BUY else None,
            **prices,
        )
        cash = data.draw(st.none() | st.floats(0, 50_000))
        self.both(lambda v: v.submit(order, cash=cash))

    @rule(data=st.data())
    def cancel(self, data):
        ids = [o.id for o in self.fast.open_orders()]
        order_id = data.draw(st.sampled_from([*ids, "nope"]))
        self.both(lambda v: v.cancel(order_id, self.now, "user"))

    @precondition(lambda self: self.now < self.session.close)
    @rule(data=st.data(), n=st.integers(1, 4))
    def bars(self, data, n):
        """``n`` consecutive 5m bars, each of one symbol."""
        for _ in range(n):
            s = self.session
            start = s.open + -(-(self.now - s.open) // BAR_NS) * BAR_NS
            if start + BAR_NS > s.close:
                self.now = s.close
                return
            symbol = data.draw(st.sampled_from(self.symbols))
            ref = self.ref[symbol]
            spread = data.draw(st.sampled_from([1, 3, 12]))  # narrow bars mostly miss the levels
            o, c, a, b = (round(ref + data.draw(st.integers(-spread, spread)) * TICK, 2) for _ in range(4))
            volume = data.draw(st.sampled_from([0.0, 3.0, 40.0, 400.0, 4000.0]))
            bar = Bar(
                symbol=symbol,
                timeframe=Timeframe.M5,
                ts=start,
                open=o,
                high=max(o, c, a, b),
                low=min(o, c, a, b),
                close=c,
                volume=volume,
            )
            if data.draw(st.booleans()):
                self.both(lambda v: v.observe_bar(bar))  # noqa: B023
            self.both(lambda v: v.on_bar(bar))  # noqa: B023
            self.ref[symbol] = c
            self.now = start + BAR_NS

    @rule(data=st.data())
    def trade(self, data):
        ts = self.now + data.draw(st.integers(0, 120_000)) * NS_PER_MS
        symbol = data.draw(st.sampled_from(self.symbols))
        price = round(self.ref[symbol] + data.draw(st.integers(-6, 6)) * TICK, 2)
        size = data.draw(st.sampled_from([0.0, 1.0, 50.0, 500.0]))
        self.both(lambda v: v.on_trade(Trade(symbol=symbol, ts=ts, price=price, size=size)))
        self.ref[symbol] = price
        self.now = ts

    @rule(data=st.data())
    def clock(self, data):
        ts = self.now + data.draw(st.integers(0, 600_000)) * NS_PER_MS
        assert self.fast.next_deadline() == self.naive.next_deadline()
        self.both(lambda v: v.on_clock(ts))
        self.now = ts

    @precondition(lambda self: self.day + 1 < len(SESSIONS))
    @rule()
    def close_session(self):
        self.both(lambda v: v.on_clock(self.session.close))
        self.day += 1
        self.now = self.session.open

    @rule(restart=st.booleans())
    def compare_snapshots(self, restart):
        """Equal snapshots; then maybe both restart from it (which also drops the cached bands)."""
        snapshot = self.both(lambda v: json.loads(json.dumps(v.snapshot())))
        if restart:
            self.fast = Venue.restore(snapshot, self.model, SESSIONS)
            self.naive = Venue.restore(snapshot, self.model, SESSIONS, fast=False)

    @invariant()
    def same_book(self):
        if hasattr(self, "fast"):
            orders = self.both(lambda v: v.open_orders())
            for o in orders:
                self.both(lambda v: (v.remaining_qty(o.id), v.status(o.id)))  # noqa: B023


TestFastEqualsNaive = FastEqualsNaive.TestCase
TestFastEqualsNaive.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    phases=[p for p in Phase if p is not Phase.explain],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
