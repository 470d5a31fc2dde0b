"""The simulated exchange: accepts orders, rests them and matches them against the price path.

State: :class:`Venue`: working orders per symbol in time priority, the last point per symbol
(price, time, unused liquidity), the last observed primary bar's range, and recent order ids.
Consumes: orders (``submit``), cancels, bars (four points each), prints (one point each), time
(``on_clock``: DAY expiry) and closed primary bars (``observe_bar``: the volatility for prints).
Emits: records ``OrderAccepted`` / ``OrderRejected`` / ``Filled`` / ``OrderCancelled``.
Invariants: an order never fills more than its quantity, before its active time or after it is
done; a point's liquidity is used once, across all orders; the two legs of a bracket pair
together fill at most what their parent filled; every draw comes from (seed, order id, index).

# Theory of operation (DESIGN §3, one rule for backtest and live)
- An accepted order is active from ``order.ts + delay`` (delay drawn per order, in ms). A new
  stop or limit that is active at once is checked against the last price of the current session
  (a sell stop at or above it fills there); a market order waits for the next point.
- Points are matched in time order; at each point the working orders of the symbol are visited
  in time priority and priced by :func:`vibe_core.sim.matching.match_price`. A point outside a
  regular session is not matched (it only moves the last price).
- A fill takes at most ``floor(max_participation x unused liquidity)`` shares (at least one while
  a whole share is left), optionally a seeded fraction of that, and uses that liquidity up.
  ``max_participation >= 1`` means no liquidity cap: fills are complete even on zero volume.
- A filled bracket parent places a stop and a target for the filled quantity, linked
  one-cancels-other, and matches them at once from the parent's fill price along the rest of the
  step, so an entry bar can also stop out or hit its target.
- A DAY order lives until its session's close (a bracket leg: its parent's). At the close
  (``on_clock``) a DAY market order active by then fills completely at the session's last price
  (market-on-close); every other DAY order expires, including legs placed by a close fill.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeAlias

import attrs

from vibe_core.calendar import SessionTable
from vibe_core.codec import structure, unstructure
from vibe_core.config import FillModel
from vibe_core.events import Bar, Filled, OrderAccepted, OrderCancelled, OrderRejected, Trade
from vibe_core.models import Fill, Order
from vibe_core.orders import TERMINAL, transition
from vibe_core.sim.draws import integer, uniform
from vibe_core.sim.fees import fee
from vibe_core.sim.matching import match_price, reach, reachable
from vibe_core.sim.points import POINT_OFFSETS, Point, bar_points, trade_point
from vibe_core.sim.slippage import bar_range_pct, slippage_fraction, slipped_price
from vibe_core.types import (
    BUY,
    LIMIT,
    M5,
    MARKET,
    NS_PER_MS,
    STOP,
    STOP_LIMIT,
    OrderStatus,
    Timeframe,
    TimeInForce,
)

__all__ = ["Venue", "VenueRecord", "fill_delay_ns"]

VenueRecord: TypeAlias = OrderAccepted | OrderRejected | Filled | OrderCancelled

_INF = math.inf
_PENDING = OrderStatus.PENDING
_OBJECT_FIELDS = ("order", "status")
_CLOSE_OFFSET = {tf: tf.ns * POINT_OFFSETS[-1] // 300 for tf in Timeframe}  #: bar open -> its close point


def fill_delay_ns(model: FillModel, seed: int, order_id: str) -> int:
    """The order's fill delay: uniform over whole ms in [min, max], draw 0 of the order."""
    lo, hi = model.fill_delay_ms_min, model.fill_delay_ms_max
    if hi <= lo:
        return lo * NS_PER_MS
    return integer(seed, order_id, 0, lo, hi) * NS_PER_MS


@attrs.define
class _Working:
    """A working order and its progress (owned by one venue)."""

    order: Order
    status: OrderStatus
    active_ts: int
    expires: int | None  #: session close for DAY orders
    filled: int = 0
    reduced: int = 0  #: quantity taken away by fills of the other leg of its pair
    triggered: bool = False
    draws: int = 1  #: next draw index (0 is the fill delay)
    spent: float = 0.0  #: notional bought so far, for ``max_notional``
    sibling: str | None = None  #: the other leg of a one-cancels-other pair
    pairs: int = 0  #: bracket pairs placed so far (one per fill)

    @property
    def remaining(self) -> int:
        return self.order.qty - self.filled - self.reduced


@attrs.define
class _Market:
    """The last point seen for a symbol."""

    price: float | None = None
    ts: int = 0
    liquidity: float = 0.0
    remaining: float = 0.0  #: liquidity of the last point not yet used
    range_pct: float = 0.0  #: (high - low) / open of the last observed primary bar


@attrs.define
class _At:
    """The point being matched: its liquidity is used up as orders fill."""

    ts: int
    price: float
    liquidity: float
    remaining: float
    range_pct: float


def _may_act(book: list[_Working], low: float, high: float, end: int) -> bool:
    """Can some working order activate, expire, trigger or fill in a bar spanning ``low..high``
    that ends at ``end``?"""
    for w in book:
        expires = w.expires
        if (
            w.status is _PENDING
            or (expires is not None and expires <= end)
            or reachable(w.order, triggered=w.triggered, low=low, high=high)
        ):
            return True
    return False


def _cold(book: list[_Working], low: float, high: float) -> frozenset[str]:
    """Ids of the working orders that no price in ``low..high`` can trigger or fill."""
    return frozenset(
        w.order.id for w in book if not reachable(w.order, triggered=w.triggered, low=low, high=high)
    )


def _valid_price(p: float | None) -> bool:
    return p is not None and p > 0.0 and math.isfinite(p)


def _price_error(order: Order) -> bool:
    kind = order.type
    if kind in (LIMIT, STOP_LIMIT) and not _valid_price(order.limit_price):
        return True
    if kind in (STOP, STOP_LIMIT) and not _valid_price(order.stop_price):
        return True
    stop_loss, take_profit = order.stop_loss, order.take_profit
    return (stop_loss is not None and not _valid_price(stop_loss)) or (
        take_profit is not None and not _valid_price(take_profit)
    )


@attrs.define
class Venue:
    """The simulated exchange of one run; see the module docstring for the rules."""

    model: FillModel
    seed: int
    symbols: frozenset[str]
    sessions: SessionTable
    _orders: dict[str, _Working] = attrs.field(factory=dict, init=False, repr=False)
    _books: dict[str, list[_Working]] = attrs.field(factory=dict, init=False, repr=False)
    _markets: dict[str, _Market] = attrs.field(factory=dict, init=False, repr=False)
    #: symbol -> its latest bar that met no order, not yet written into its _Market (see _market)
    _unseen: dict[str, Bar] = attrs.field(factory=dict, init=False, repr=False)
    _recent: dict[str, int] = attrs.field(factory=dict, init=False, repr=False)
    _recent_session: int = attrs.field(default=-1, init=False, repr=False)
    _next_expiry: int | None = attrs.field(default=None, init=False, repr=False)
    #: symbol -> (low, high, end) below/above/at which some working order may act; see _quiet_band
    _quiet: dict[str, tuple[float, float, float]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    # -- commands --------------------------------------------------------------------------------

    def submit(
        self,
        order: Order,
        *,
        cash: float | None = None,
        position: int = 0,
        paused: bool = False,
        allow_margin: bool = False,
    ) -> list[VenueRecord]:
        """Accept or reject ``order``; an accepted stop or limit may fill at once at the last price.

        ``cash``/``position``/``paused`` describe the account (the venue keeps no account).
        A known id (working, or seen in this or the previous session) is ignored: resubmitting
        after a restart is idempotent.
        """
        if order.id in self._orders or order.id in self._recent:
            return []
        self._remember(order.id, order.ts)
        reason = self._rejection(order, cash, position, paused, allow_margin)
        if reason is not None:
            transition(_PENDING, "reject")
            return [OrderRejected(ts=order.ts, order_id=order.id, symbol=order.symbol, reason=reason)]
        delay = fill_delay_ns(self.model, self.seed, order.id)
        w = _Working(order=order, status=_PENDING, active_ts=order.ts + delay, expires=self._expiry(order))
        out: list[VenueRecord] = [OrderAccepted(ts=order.ts, order_id=order.id, order=order)]
        self._add(w)
        if delay == 0:
            w.status = transition(w.status, "accept")
            if order.type is not MARKET:
                self._check_at_last(w, out)
        return out

    def cancel(self, order_id: str, ts: int, reason: str) -> list[VenueRecord]:
        """Cancel a working order; an unknown or finished order is a no-op (it may just have filled)."""
        w = self._orders.get(order_id)
        if w is None:
            return []
        out: list[VenueRecord] = []
        self._finish(w, "cancel", ts, reason, out)
        return out

    # -- market data and time --------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> list[VenueRecord]:
        """Match the bar's four points against the symbol's working orders."""
        return self.on_bars((bar,))[1]

    def on_bars(self, bars: Sequence[Bar], start: int = 0) -> tuple[int, list[VenueRecord]]:
        """:meth:`on_bar` of ``bars[start:]`` in turn, up to the first bar that yields records.

        Returns the index after the last bar matched and that bar's records (empty when every bar
        was matched with none). The caller books the records before matching on: a fill may halt
        trading and cancel another symbol's entry before that symbol's bar is matched.
        """
        books = self._books
        unseen = self._unseen
        done = start  # (a counter: cheaper than range() or enumerate() over a step's few bars)
        for bar in bars[start:] if start else bars:
            done += 1
            symbol = bar.symbol
            if symbol in books:  # (cheaper than get: most symbols have no working order)
                book = books[symbol]
                end = bar.ts + _CLOSE_OFFSET[bar.timeframe]  # the bar's close point
                low, high = bar.low, bar.high
                if not 0.0 < low <= high < _INF:
                    raise ValueError(f"invalid bar of {symbol} at {bar.ts}: low {low!r}, high {high!r}")
                band = self._quiet.get(symbol) or self._quiet_band(symbol, book)
                # _quiet_in, inlined: this runs for every bar of a symbol with working orders
                if not (low > band[0] and high < band[1] and end < band[2]) and _may_act(
                    book, low, high, end
                ):  # (the band failing is rare: an order near the bar's range)
                    records = self._match_bar(bar, _cold(book, low, high))
                    if records:
                        return done, records
                    continue
            # no order can match in this bar: it only becomes the last price, written when next read
            close, volume = bar.close, bar.volume
            if not (0.0 < close < _INF and 0.0 <= volume < _INF):
                raise ValueError(f"invalid bar of {symbol} at {bar.ts}: close {close!r}, volume {volume!r}")
            unseen[symbol] = bar
        return len(bars), []

    def _quiet_band(self, symbol: str, book: list[_Working]) -> tuple[float, float, float]:
        """``(low, high, end)``: a bar with a low above ``low``, a high below ``high`` and an end
        before ``end`` can neither trigger, fill nor expire any working order of ``symbol``.

        The same conditions as :func:`_may_act` (pending, expiring, :func:`reachable`), folded
        over the book once; kept until something it depends on changes:
        an order added or dropped (``_add``, ``_drop``), activated, or triggered (``_try``).
        """
        low, high, end = -_INF, _INF, _INF
        for w in book:
            if w.expires is not None and w.expires < end:
                end = w.expires
            where = None if w.status is _PENDING else reach(w.order, triggered=w.triggered)
            if where is None:
                low, high = _INF, -_INF  # may act in any bar
                continue
            level, up = where
            if up:
                high = min(high, level)
            else:
                low = max(low, level)
        band = self._quiet[symbol] = (low, high, end)
        return band

    def _match_bar(self, bar: Bar, cold: frozenset[str]) -> list[VenueRecord]:
        market = self._market(bar.symbol)
        range_pct = bar_range_pct(bar.high, bar.low, bar.open)
        in_session = self.sessions.is_open(bar.ts)
        out: list[VenueRecord] = []
        symbol = bar.symbol
        points = bar_points(bar)
        end = points[3].ts
        at = _At(ts=0, price=0.0, liquidity=0.0, remaining=0.0, range_pct=range_pct)  # (per point)
        for point in points:
            self._match_point(symbol, market, point, at, in_session, cold, out)
            book = self._books.get(symbol)
            if point is not points[3] and (book is None or self._quiet_in(symbol, book, bar, end)):
                # no order left can act anywhere in this bar: the later points would only move the
                # last price, which is the close (its liquidity untouched)
                last = points[3]
                market.price, market.ts = last.price, last.ts
                market.liquidity = market.remaining = last.liquidity
                break
        return out

    def _quiet_in(self, symbol: str, book: list[_Working], bar: Bar, end: int) -> bool:
        """Can no working order of ``symbol`` trigger, fill or expire inside ``bar`` (ending ``end``)?"""
        band = self._quiet.get(symbol) or self._quiet_band(symbol, book)
        return bar.low > band[0] and bar.high < band[1] and end < band[2]

    def on_trade(self, trade: Trade) -> list[VenueRecord]:
        """Match one print (a jump offering its size) against the symbol's working orders."""
        symbol = trade.symbol
        market = self._market(symbol)
        if symbol not in self._books:
            price, size = trade.price, trade.size
            if not (0.0 < price < _INF and 0.0 <= size < _INF):
                raise ValueError(f"invalid print of {symbol} at {trade.ts}: price {price!r}, size {size!r}")
            market.price, market.ts = price, trade.ts
            market.liquidity = market.remaining = size
            return []
        out: list[VenueRecord] = []
        point = trade_point(trade)
        if not self._new_interval(market, trade.ts):
            point = point._replace(jump=False)
        in_session = self.sessions.is_open(trade.ts)
        at = _At(ts=0, price=0.0, liquidity=0.0, remaining=0.0, range_pct=market.range_pct)
        self._match_point(symbol, market, point, at, in_session, frozenset(), out)
        return out

    def _new_interval(self, market: _Market, ts: int) -> bool:
        """Is a print at ``ts`` the first of its primary bar (a jump), or continuous with the last one?

        Consecutive prints inside one session-aligned 5m interval are a continuous path, exactly
        like the points inside a bar, so a replay of a bar's points as prints matches as the bar does.
        """
        if market.price is None:
            return True
        session = self.sessions.session_at(ts)
        if session is None or market.ts < session.open:
            return True
        step = M5.ns
        return (market.ts - session.open) // step != (ts - session.open) // step

    def on_clock(self, ts: int) -> list[VenueRecord]:
        """At or after a DAY order's session close: a working market order fills at the session's
        last price (market-on-close), every other DAY order expires (``OrderCancelled`` "expired").

        The legs of a bracket parent filled at the close are DAY orders of that ended session: they
        are placed, not matched, and expire in the same call.
        """
        if self._next_expiry is None or ts < self._next_expiry:
            return []
        out: list[VenueRecord] = []
        due = [w for w in self._orders.values() if w.expires is not None and w.expires <= ts]
        while due:
            for w in due:
                if self._orders.get(w.order.id) is not w:
                    continue  # finished earlier in this call (one-cancels-other)
                assert w.expires is not None
                if w.order.type is MARKET and w.active_ts <= w.expires:
                    self._fill_at_close(w, w.expires, out)
                if self._orders.get(w.order.id) is w:
                    self._finish(w, "expire", ts, "expired", out)
            due = [w for w in self._orders.values() if w.expires is not None and w.expires <= ts]
        left = [w.expires for w in self._orders.values() if w.expires is not None]
        self._next_expiry = min(left, default=None)
        return out

    def _fill_at_close(self, w: _Working, close: int, out: list[VenueRecord]) -> None:
        """A DAY market order working at the close (active by then) fills at the session's last price.

        It is what a market-on-close fallback does, and it keeps "flat at every close" true when
        the bars after the flatten time are missing. Liquidity caps and partial draws do not apply.
        An order whose fill delay passed with no point since is still ``PENDING``: it is active now.
        """
        market = self._last(w.order.symbol)
        if market is None or market.price is None:
            return
        if self.sessions.index_at(market.ts) != self.sessions.index_at(close - 1):
            return  # no price in this session
        if w.status is _PENDING:
            w.status = transition(w.status, "activate")
        at = _At(ts=close, price=market.price, liquidity=0.0, remaining=0.0, range_pct=market.range_pct)
        self._fill(w, market.price, False, at, out, whole=True)

    def observe_bar(self, bar: Bar) -> None:
        """A closed primary bar: its range is the volatility term of slippage for prints."""
        self._market(bar.symbol).range_pct = bar_range_pct(bar.high, bar.low, bar.open)

    # -- reads -----------------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Working orders (pending their delay or resting), in time priority."""
        if symbol is None:
            return [w.order for w in self._orders.values()]
        return [w.order for w in self._books.get(symbol, ())]

    def remaining_qty(self, order_id: str) -> int:
        """Shares still working on ``order_id`` (0 when it is not working)."""
        w = self._orders.get(order_id)
        return 0 if w is None else w.remaining

    def status(self, order_id: str) -> OrderStatus | None:
        """Status of a working order; None once it is done (done orders are dropped)."""
        w = self._orders.get(order_id)
        return None if w is None else w.status

    def last_price(self, symbol: str) -> float | None:
        market = self._last(symbol)
        return None if market is None else market.price

    # -- rules -----------------------------------------------------------------------------------

    def _rejection(
        self, order: Order, cash: float | None, position: int, paused: bool, allow_margin: bool
    ) -> str | None:
        if order.qty <= 0:
            return "non-positive qty"
        if order.symbol not in self.symbols:
            return "unknown symbol"
        if _price_error(order):
            return "invalid price"
        if not self.sessions.is_open(order.ts):
            return "market closed"
        after = position + order.side.sign * order.qty
        if paused and abs(after) > abs(position):
            return "trading paused"
        if cash is not None and not allow_margin and order.side is BUY:
            opening = max(after, 0) - max(position, 0)  # shares added to a long position
            ref = order.limit_price if order.type in (LIMIT, STOP_LIMIT) else None
            if ref is None:
                ref = self.last_price(order.symbol) or order.stop_price
            if opening > 0 and ref is not None and opening * ref > cash + 1e-9:
                return "insufficient cash"
        return None

    def _expiry(self, order: Order) -> int | None:
        if order.tif is TimeInForce.GTC:
            return None
        session = self.sessions.session_at(order.ts)
        return None if session is None else session.close

    def _check_at_last(self, w: _Working, out: list[VenueRecord]) -> None:
        """A new stop or limit meets the last price of the current session at once."""
        self._quiet.pop(w.order.symbol, None)  # matching may trigger or fill: the band is redone
        market = self._last(w.order.symbol)
        if market is None or market.price is None:
            return
        ts = w.order.ts
        if self.sessions.index_at(market.ts) != self.sessions.index_at(ts):
            return  # the last price is from an earlier session: the next open decides
        at = _At(
            ts=ts,
            price=market.price,
            liquidity=market.liquidity,
            remaining=market.remaining,
            range_pct=market.range_pct,
        )
        self._match_new(w, market.price, False, at, out)
        market.remaining = at.remaining

    def _match_point(
        self,
        symbol: str,
        market: _Market,
        point: Point,
        at: _At,
        in_session: bool,
        cold: frozenset[str],
        out: list[VenueRecord],
    ) -> None:
        """Match one point; ``at`` is set to it (one object per bar, reused point after point)."""
        ts, price = point.ts, point.price
        prev, prev_ts = market.price, market.ts
        at.ts, at.price = ts, price
        at.liquidity = at.remaining = point.liquidity
        for w in tuple(self._books.get(symbol, ())):  # orders placed at this point are matched by _bracket
            order_id = w.order.id
            if self._orders.get(order_id) is not w:
                continue  # finished earlier at this point (one-cancels-other)
            if w.expires is not None and ts >= w.expires:
                self._finish(w, "expire", ts, "expired", out)
                continue
            if not in_session or w.active_ts > ts:
                continue
            if w.status is _PENDING:
                w.status = transition(w.status, "activate")
                self._quiet.pop(symbol, None)  # (a pending order may act in any bar)
            if order_id in cold:
                continue  # cannot match anywhere in this bar
            if not point.jump and prev is not None and w.active_ts <= prev_ts:
                self._try(w, prev, price, True, at, out)
            else:
                self._try(w, price, price, False, at, out)
        market.price, market.ts = price, ts
        market.liquidity, market.remaining = point.liquidity, at.remaining

    def _match_new(
        self, w: _Working, start: float, continuous: bool, at: _At, out: list[VenueRecord]
    ) -> None:
        """Check a new order at ``start`` at once, then along the rest of a continuous step."""
        self._try(w, start, start, False, at, out)
        if continuous and start != at.price and w.status not in TERMINAL:
            self._try(w, start, at.price, True, at, out)

    def _try(
        self, w: _Working, start: float, price: float, continuous: bool, at: _At, out: list[VenueRecord]
    ) -> None:
        triggered = w.triggered
        ref, w.triggered = match_price(
            w.order, triggered=triggered, start=start, price=price, continuous=continuous
        )
        if w.triggered is not triggered:
            self._quiet.pop(w.order.symbol, None)  # its reach moved: the band is redone
        if ref is not None:
            self._fill(w, ref, continuous, at, out)

    def _fill_qty(self, w: _Working, at: _At) -> int:
        model = self.model
        qty = w.remaining
        if model.max_participation < 1.0:
            if at.remaining < 1.0:
                return 0
            qty = min(qty, max(1, int(model.max_participation * at.remaining)))
        partial = model.partial_fills and model.partial_probability > 0.0 and qty > 1
        if partial and self._draw(w) < model.partial_probability:
            qty = max(1, int(qty * (0.2 + 0.8 * self._draw(w))))
        return qty

    def _fill_price(self, order: Order, ref: float, qty: int, at: _At) -> float:
        if order.type is MARKET or order.type is STOP:
            f = slippage_fraction(self.model, range_pct=at.range_pct, qty=qty, liquidity=at.liquidity)
            return slipped_price(ref, order.side, f)
        return round(ref, 4)  # limit fills are never worse than the limit: no slippage

    def _fill(
        self,
        w: _Working,
        ref: float,
        continuous: bool,
        at: _At,
        out: list[VenueRecord],
        *,
        whole: bool = False,
    ) -> None:
        qty = w.remaining if whole else self._fill_qty(w, at)
        if qty <= 0:
            return
        order = w.order
        price = self._fill_price(order, ref, qty, at)
        capped = False
        if order.side is BUY and order.max_notional is not None:
            budget = order.max_notional - w.spent
            if qty * price > budget:
                capped = True
                qty = math.floor(budget / price)
                if qty <= 0:
                    self._finish(w, "cancel", at.ts, "insufficient cash", out)
                    return
                price = self._fill_price(order, ref, qty, at)
        w.filled += qty
        w.spent += qty * price
        at.remaining = max(0.0, at.remaining - qty)
        done = w.remaining <= 0
        w.status = transition(w.status, "fill_full" if done else "fill_partial")
        fill = Fill(
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            ref_price=ref,
            fee=fee(self.model, qty),
            ts=at.ts,
            tag=order.tag,
        )
        out.append(Filled(ts=at.ts, fill=fill))
        if done:
            self._drop(w)
        elif capped:
            self._finish(w, "cancel", at.ts, "insufficient cash", out)
        if w.sibling is not None:
            sibling = self._orders.get(w.sibling)
            if sibling is not None:
                sibling.reduced += qty
                if sibling.remaining <= 0:
                    self._finish(sibling, "cancel", at.ts, "oco", out)
        if order.stop_loss is not None or order.take_profit is not None:
            self._bracket(w, qty, ref, continuous, at, out)

    def _bracket(
        self, parent: _Working, qty: int, ref: float, continuous: bool, at: _At, out: list[VenueRecord]
    ) -> None:
        """Place a stop and a target for the ``qty`` just filled, one-cancels-other, matched from ``ref``."""
        parent.pairs += 1
        p = parent.order
        suffix = "" if parent.pairs == 1 else f"-{parent.pairs}"
        side = p.side.opposite
        legs = [
            Order(
                id=f"{p.id}-{kind}{suffix}",
                symbol=p.symbol,
                side=side,
                qty=qty,
                type=order_type,
                ts=at.ts,
                stop_price=price if order_type is STOP else None,
                limit_price=price if order_type is LIMIT else None,
                tif=p.tif,
                parent_id=p.id,
                tag=tag,
            )
            for kind, price, order_type, tag in (
                ("sl", p.stop_loss, STOP, "stop"),
                ("tp", p.take_profit, LIMIT, "target"),
            )
            if price is not None
        ]
        children: list[_Working] = []
        for leg in legs:
            self._remember(leg.id, at.ts)
            child = _Working(  # a leg lives as long as its parent (a DAY leg of a close fill: not past it)
                order=leg, status=transition(_PENDING, "accept"), active_ts=at.ts, expires=parent.expires
            )
            out.append(OrderAccepted(ts=at.ts, order_id=leg.id, order=leg))
            self._add(child)
            children.append(child)
        if len(children) == 2:
            children[0].sibling, children[1].sibling = legs[1].id, legs[0].id
        for child in children:
            if child.status in TERMINAL or (child.expires is not None and at.ts >= child.expires):
                continue  # done, or placed at its session's close (on_clock expires it)
            self._match_new(child, ref, continuous, at, out)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _draw(self, w: _Working) -> float:
        value = uniform(self.seed, w.order.id, w.draws)
        w.draws += 1
        return value

    def _market(self, symbol: str) -> _Market:
        """The symbol's last point, the bar that met no order since written in: its close point.

        A bar no order can act in changes nothing but the last point, so :meth:`on_bar` only keeps
        the bar (one store instead of four); every read of the last point goes through here.
        """
        market = self._markets.get(symbol)
        if market is None:
            market = self._markets[symbol] = _Market()
        bar = self._unseen.pop(symbol, None)
        if bar is not None:
            market.price = bar.close
            market.ts = bar.ts + _CLOSE_OFFSET[bar.timeframe]
            market.liquidity = market.remaining = bar.volume * 0.25
        return market

    def _last(self, symbol: str) -> _Market | None:
        """:meth:`_market` for reads that need no market yet: ``None`` before any point."""
        return self._market(symbol) if symbol in self._unseen else self._markets.get(symbol)

    def _add(self, w: _Working) -> None:
        self._quiet.pop(w.order.symbol, None)
        self._orders[w.order.id] = w
        self._books.setdefault(w.order.symbol, []).append(w)
        if w.expires is not None and (self._next_expiry is None or w.expires < self._next_expiry):
            self._next_expiry = w.expires

    def _drop(self, w: _Working) -> None:
        self._quiet.pop(w.order.symbol, None)
        del self._orders[w.order.id]
        book = self._books[w.order.symbol]
        book.remove(w)
        if not book:
            del self._books[w.order.symbol]

    def _finish(self, w: _Working, event: str, ts: int, reason: str, out: list[VenueRecord]) -> None:
        w.status = transition(w.status, event)
        self._drop(w)
        out.append(OrderCancelled(ts=ts, order_id=w.order.id, reason=reason))

    def _remember(self, order_id: str, ts: int) -> None:
        """Keep ids of the current and previous session for idempotency (bounded memory)."""
        index = self.sessions.last_index_at_or_before(ts)
        if index > self._recent_session:
            self._recent = {k: v for k, v in self._recent.items() if v >= index - 1}
            self._recent_session = index
        self._recent[order_id] = index

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state; :meth:`restore` rebuilds an equal venue (the model comes from config)."""
        for symbol in list(self._unseen):
            self._market(symbol)
        return {
            "seed": self.seed,
            "symbols": sorted(self.symbols),
            "orders": [
                {
                    "order": unstructure(w.order),
                    "status": w.status.value,
                    **{k: v for k, v in attrs.asdict(w, recurse=False).items() if k not in _OBJECT_FIELDS},
                }
                for w in self._orders.values()
            ],
            "markets": {s: attrs.asdict(m) for s, m in self._markets.items()},
            "recent": dict(self._recent),
            "recent_session": self._recent_session,
            "next_expiry": self._next_expiry,
        }

    @classmethod
    def restore(cls, data: dict[str, Any], model: FillModel, sessions: SessionTable) -> Venue:
        venue = cls(model=model, seed=data["seed"], symbols=frozenset(data["symbols"]), sessions=sessions)
        for row in data["orders"]:
            fields = {k: v for k, v in row.items() if k not in _OBJECT_FIELDS}
            w = _Working(order=structure(row["order"], Order), status=OrderStatus(row["status"]), **fields)
            venue._orders[w.order.id] = w
            venue._books.setdefault(w.order.symbol, []).append(w)
        venue._markets = {s: _Market(**m) for s, m in data["markets"].items()}
        venue._recent = dict(data["recent"])
        venue._recent_session = data["recent_session"]
        venue._next_expiry = data["next_expiry"]
        return venue
