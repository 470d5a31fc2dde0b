"""The venue under random submits, cancels, bars, prints, clock ticks and restarts, against a naive model.

The model keeps, per order, its quantity, active time (from the public delay rule), filled quantity
and whether it is done, and the one-cancels-other pairs; it checks every record as it arrives
and compares the venue's working orders with its own after every rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from vibe_core.calendar import NEW_YORK, Session, SessionTable, datetime_to_ns
from vibe_core.config import PRESETS
from vibe_core.events import Bar, Filled, OrderAccepted, OrderCancelled, OrderRejected, Trade
from vibe_core.models import Order
from vibe_core.sim.venue import Venue, fill_delay_ns
from vibe_core.types import NS_PER_MS, OrderType, Side, Timeframe, TimeInForce

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
    "slow": attrs.evolve(PRESETS["optimistic"], fill_delay_ms_min=0, fill_delay_ms_max=200_000),
}
TICK = 0.25


@attrs.define
class Model:
    order: Order
    active_ts: int
    filled: int = 0
    done: bool = False
    sibling: str | None = None


def sibling_id(order: Order) -> str | None:
    """``P-sl`` <-> ``P-tp`` (and ``P-sl-2`` <-> ``P-tp-2``) for bracket legs."""
    if order.parent_id is None:
        return None
    rest = order.id[len(order.parent_id) :]
    return order.parent_id + (
        rest.replace("-sl", "-tp", 1) if rest.startswith("-sl") else rest.replace("-tp", "-sl", 1)
    )


class VenueMachine(RuleBasedStateMachine):
    @initialize(
        preset=st.sampled_from(sorted(MODELS)), seed=st.integers(0, 2**32), n_symbols=st.integers(1, 2)
    )
    def setup(self, preset, seed, n_symbols):
        self.model = MODELS[preset]
        self.seed = seed
        self.symbols = SYMBOLS[:n_symbols]
        self.venue = Venue(model=self.model, seed=seed, symbols=frozenset(self.symbols), sessions=SESSIONS)
        self.day = 0
        self.now = SESSIONS.sessions[0].open
        self.orders: dict[str, Model] = {}
        self.seen: set[str] = set()
        self.last: dict[str, float] = {}
        self.last_ts: dict[str, int] = {}
        self.liq_left: dict[str, float] = {}
        self.pairs: dict[str, list[tuple[str, int]]] = defaultdict(list)  # parent -> [(first leg id, qty)]
        self.seq = 0

    # -- helpers -------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return SESSIONS.sessions[self.day]

    def day_close(self, o: Order) -> int:
        """The close of the session a DAY order lives in: its own, or its bracket parent's."""
        root = self.orders[o.parent_id].order if o.parent_id is not None else o
        return SESSIONS.session_at(root.ts).close

    def remaining(self, m: Model) -> int:
        other = self.orders.get(m.sibling) if m.sibling else None
        return m.order.qty - m.filled - (other.filled if other else 0)

    def absorb(self, records, context, point_liquidity=lambda _ts: 0.0):
        """Check each record against the model, in order. ``context``: where fills may come from."""
        used: dict[int, float] = defaultdict(float)
        capped = self.model.max_participation < 1.0 and context[0] != "close"  # the close fill is uncapped
        last_parent_fill: dict[str, int] = {}
        for r in records:
            match r:
                case OrderAccepted(order=o):
                    assert o is not None
                    assert o.id == r.order_id
                    assert o.id not in self.seen, f"duplicate id {o.id}"
                    self.seen.add(o.id)
                    if o.parent_id is None:
                        active = o.ts + fill_delay_ns(self.model, self.seed, o.id)
                    else:
                        assert o.parent_id in self.orders
                        assert last_parent_fill.get(o.parent_id) == o.qty  # children cover the fill just made
                        assert o.ts == r.ts
                        active = o.ts
                    m = Model(order=o, active_ts=active)
                    self.orders[o.id] = m
                    sib = sibling_id(o)
                    if sib is not None and sib in self.orders:
                        m.sibling, self.orders[sib].sibling = sib, o.id
                        assert self.orders[sib].order.qty == o.qty
                    elif sib is not None:
                        self.pairs[o.parent_id].append((o.id, o.qty))
                case OrderRejected():
                    assert r.order_id not in self.seen
                    self.seen.add(r.order_id)
                case Filled(fill=f):
                    assert context[0] != "none", f"fill outside market data or a submit: {f}"
                    m = self.orders[f.order_id]
                    o = m.order
                    assert not m.done, f"fill on a finished order {o.id}"
                    assert f.ts >= m.active_ts, "fill before the order is active"
                    assert 1 <= f.qty <= self.remaining(m)
                    assert (f.symbol, f.side, f.tag) == (o.symbol, o.side, o.tag)
                    self.check_price(o, f, context)
                    if capped:
                        # a fill takes at most the participation share of what is left at its point
                        left = point_liquidity(f.ts) - used[f.ts]
                        assert left >= 1.0
                        assert f.qty <= max(1, int(self.model.max_participation * left))
                    used[f.ts] += f.qty
                    m.filled += f.qty
                    if self.remaining(m) == 0:
                        m.done = True
                    if o.stop_loss is not None or o.take_profit is not None:
                        last_parent_fill[o.id] = f.qty
                case OrderCancelled():
                    m = self.orders[r.order_id]
                    assert not m.done, f"cancel of a finished order {r.order_id}"
                    if r.reason == "oco":
                        assert m.sibling is not None
                        assert self.remaining(m) == 0
                    elif r.reason == "expired":
                        assert m.order.tif is TimeInForce.DAY
                        assert r.ts >= self.day_close(m.order)
                    else:
                        assert r.reason in ("user", "insufficient cash"), r.reason
                    m.done = True
        if capped:
            for ts, qty in used.items():
                assert qty <= point_liquidity(ts), f"liquidity over-used at {ts}: {qty}"
        return used

    def check_price(self, o: Order, f, context):
        kind, data = context
        if kind == "bar":
            bar: Bar = data
            assert bar.low <= f.ref_price <= bar.high
            assert bar.ts <= f.ts < bar.end
        elif kind == "trade":
            trade, prev, prev_ts = data
            assert f.ts == trade.ts
            session = SESSIONS.session_at(trade.ts)
            same_bar = (
                prev is not None
                and prev_ts >= session.open
                and ((prev_ts - session.open) // BAR_NS == (trade.ts - session.open) // BAR_NS)
            )
            if same_bar:  # continuous from the previous point, as inside a bar
                assert min(prev, trade.price) <= f.ref_price <= max(prev, trade.price)
            else:  # the first print of a 5m interval is a jump
                assert f.ref_price == trade.price
        elif kind == "close":  # market orders still working at the close fill at the last price
            assert o.type is OrderType.MARKET
            assert f.ref_price == self.last[o.symbol]
            assert f.ts == data
        else:  # a new order met the last price
            assert f.ref_price == self.last[o.symbol]
        if o.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            assert f.price == f.ref_price
            assert (f.price <= o.limit_price) if o.side is Side.BUY else (f.price >= o.limit_price)
        else:
            assert (f.price >= f.ref_price) if o.side is Side.BUY else (f.price <= f.ref_price)

    def must_fill(self, o: Order, bar: Bar) -> bool:
        """Liveness without partials or a liquidity cap: an order whose level the bar reaches fills."""
        m = self.model
        if m.partial_fills or m.max_participation < 1.0 or o.max_notional is not None:
            return False
        buy = o.side is Side.BUY
        if o.type is OrderType.MARKET:
            return True
        if o.type is OrderType.LIMIT:
            return bar.low <= o.limit_price if buy else bar.high >= o.limit_price
        if o.type is OrderType.STOP:
            return bar.high >= o.stop_price if buy else bar.low <= o.stop_price
        return False

    def ref(self, symbol: str) -> float:
        return self.last.get(symbol, 100.0)

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: self.now < self.session.close)
    @rule(data=st.data())
    def submit(self, data):
        symbol = data.draw(st.sampled_from(self.symbols))
        side = data.draw(st.sampled_from(list(Side)))
        kind = data.draw(st.sampled_from(list(OrderType)))
        ref = self.ref(symbol)
        level = st.integers(-8, 8).map(lambda k: round(ref + k * TICK, 2))
        prices = {}
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            prices["limit_price"] = data.draw(level)
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            prices["stop_price"] = data.draw(level)
        if kind is not OrderType.STOP_LIMIT and data.draw(st.booleans()):
            sign = side.sign
            if data.draw(st.booleans()):
                prices["stop_loss"] = round(ref - sign * data.draw(st.integers(1, 8)) * TICK, 2)
            if data.draw(st.booleans()):
                prices["take_profit"] = round(ref + sign * data.draw(st.integers(1, 8)) * TICK, 2)
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
        account = {
            "cash": data.draw(st.none() | st.floats(0, 50_000)),
            "position": data.draw(st.integers(-100, 100)),
            "paused": data.draw(st.integers(0, 9)) == 0,
        }
        records = self.venue.submit(order, **account)
        used = self.absorb(records, ("submit", None), lambda _ts: self.liq_left.get(symbol, 0.0))
        self.liq_left[symbol] = self.liq_left.get(symbol, 0.0) - sum(used.values())
        assert self.venue.submit(order) == []  # idempotent

    @rule(data=st.data())
    def cancel(self, data):
        working = sorted(i for i, m in self.orders.items() if not m.done)
        order_id = data.draw(st.sampled_from([*working, "nope"]))
        self.absorb(self.venue.cancel(order_id, self.now, "user"), ("none", None))

    @precondition(lambda self: self.now < self.session.close)
    @rule(data=st.data())
    def bar(self, data):
        s = self.session
        start = s.open + -(-(self.now - s.open) // BAR_NS) * BAR_NS
        if start + BAR_NS > s.close:
            self.now = s.close
            return
        symbol = data.draw(st.sampled_from(self.symbols))
        ref = self.ref(symbol)
        o, c, a, b = (round(ref + data.draw(st.integers(-8, 8)) * TICK, 2) for _ in range(4))
        hi, lo = max(o, c, a, b), min(o, c, a, b)
        volume = data.draw(st.sampled_from([0.0, 3.0, 40.0, 400.0, 4000.0]))
        bar = Bar(
            symbol=symbol, timeframe=Timeframe.M5, ts=start, open=o, high=hi, low=lo, close=c, volume=volume
        )
        self.venue.observe_bar(bar)
        before = {i: m for i, m in self.orders.items() if not m.done and m.order.symbol == symbol}
        records = self.venue.on_bar(bar)
        used = self.absorb(records, ("bar", bar), lambda ts: volume / 4)
        cancelled = {r.order_id for r in records if isinstance(r, OrderCancelled)}
        for i, m in before.items():
            if m.active_ts <= bar.ts and i not in cancelled and self.must_fill(m.order, bar):
                assert m.done, f"{i} should have filled in {bar}"
        self.last[symbol] = c
        self.last_ts[symbol] = bar.ts + BAR_NS * 299 // 300
        self.liq_left[symbol] = volume / 4 - used.get(bar.ts + BAR_NS * 299 // 300, 0.0)
        self.now = start + BAR_NS

    @precondition(lambda self: self.now < self.session.close)
    @rule(data=st.data())
    def trade(self, data):
        ts = self.now + data.draw(st.integers(0, 120_000)) * NS_PER_MS
        if ts >= self.session.close:
            return
        symbol = data.draw(st.sampled_from(self.symbols))
        price = round(self.ref(symbol) + data.draw(st.integers(-6, 6)) * TICK, 2)
        size = data.draw(st.sampled_from([0.0, 1.0, 50.0, 500.0]))
        trade = Trade(symbol=symbol, ts=ts, price=price, size=size)
        context = ("trade", (trade, self.last.get(symbol), self.last_ts.get(symbol, 0)))
        used = self.absorb(self.venue.on_trade(trade), context, lambda _ts: size)
        self.last[symbol] = price
        self.last_ts[symbol] = ts
        self.liq_left[symbol] = size - used.get(ts, 0.0)
        self.now = ts

    @precondition(lambda self: self.day + 1 < len(SESSIONS) and len(self.seen) >= 4)
    @rule()
    def close_session(self):
        close = self.session.close
        opened = self.session.open
        # market-on-close: a DAY market order active by the close, with a price this session, fills
        moc = {
            i
            for i, m in self.orders.items()
            if not m.done
            and m.order.type is OrderType.MARKET
            and m.order.tif is TimeInForce.DAY
            and m.active_ts <= close
            and self.last_ts.get(m.order.symbol, 0) >= opened
        }
        records = self.venue.on_clock(close)
        self.absorb(records, ("close", close))
        for r in records:
            if isinstance(r, OrderCancelled) and r.order_id in moc:
                assert r.reason != "expired", f"market order {r.order_id} expired instead of a close fill"
        for m in self.orders.values():
            if not m.done and m.order.tif is TimeInForce.DAY:
                raise AssertionError(f"DAY order {m.order.id} outlived the close")
        self.day += 1
        self.now = self.session.open

    @rule()
    def restart(self):
        data = json.loads(json.dumps(self.venue.snapshot()))
        restored = Venue.restore(data, self.model, SESSIONS)
        assert restored.snapshot() == self.venue.snapshot()  # (equal up to bars not yet folded)
        self.venue = restored

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def working_orders_agree(self):
        working = {i: m for i, m in self.orders.items() if not m.done}
        assert [o.id for o in self.venue.open_orders()] == list(working)
        for i, m in working.items():
            assert self.venue.remaining_qty(i) == self.remaining(m) > 0
        for symbol in self.symbols:
            assert [o.id for o in self.venue.open_orders(symbol)] == [
                i for i in working if working[i].order.symbol == symbol
            ]

    @invariant()
    def fills_stay_within_quantities(self):
        for m in self.orders.values():
            assert 0 <= m.filled <= m.order.qty
            assert self.remaining(m) >= 0

    @invariant()
    def oco_legs_never_exceed_the_parent(self):
        for parent_id, pairs in self.pairs.items():
            parent = self.orders[parent_id]
            assert sum(q for _, q in pairs) == parent.filled
            legs_filled = 0
            for leg_id, qty in pairs:
                leg = self.orders[leg_id]
                other = self.orders.get(leg.sibling) if leg.sibling else None
                both = leg.filled + (other.filled if other else 0)
                assert both <= qty
                legs_filled += both
            assert legs_filled <= parent.filled


TestVenueMachine = VenueMachine.TestCase
# Generation is unchanged; a failure is shrunk once (not once per distinct error) and the "explain"
# phase, which re-runs the shrunk case hundreds of times for a coverage note, is skipped.
TestVenueMachine.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    phases=[p for p in Phase if p is not Phase.explain],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
