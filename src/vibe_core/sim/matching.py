"""Matching: prices a point of the price path against a symbol's book.

State: none of its own; :class:`Matcher` works on the :class:`~vibe_core.sim.book.Book` it is
given and on the symbol's :class:`Market` (its last point), and draws from ``(seed, order id,
index)``.
Consumes: points (a bar's four, a print's one), new orders to check at the last price, DAY
market orders working at the close.
Emits: ``Filled`` records, ``OrderAccepted`` for the legs of a filled bracket, ``OrderCancelled``
for one-cancels-other, expiry and spent budgets.
Invariants: an order never fills more than its remaining quantity, before its active time or
after it is done; a point's liquidity is used once, across all orders; the two legs of a pair
together fill at most what their parent filled.

# Theory of operation (DESIGN §3)
A step of the path is *continuous* (inside a bar or a 5m interval of prints: the price slides
from ``start`` to ``price`` and passes every level between) or a *jump* (a bar's open, the first
print of an interval, an order that became active between two points: only ``price`` is seen).
Each order's kind (:mod:`vibe_core.sim.ordertypes`) prices the step. At each point the working
orders are visited in time priority: a DAY order past its close expires, one not active yet is
skipped, a pending one is activated, and the rest are matched. A fill takes at most
``floor(max_participation x unused liquidity)`` shares (at least one while a whole share is left;
``max_participation >= 1``: no cap), optionally a seeded fraction of that; it is priced with
slippage when the kind slips, and capped by the buy's ``max_notional``. A filled bracket parent
places a stop and a target for the filled quantity, linked one-cancels-other, matched at once from
the parent's fill price along the rest of the step.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import attrs

from vibe_core.calendar import SessionTable
from vibe_core.config import FillModel
from vibe_core.events import Bar, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order, derived_order
from vibe_core.orders import TERMINAL, transition
from vibe_core.sim.book import Book, Working
from vibe_core.sim.draws import uniform
from vibe_core.sim.fees import fee
from vibe_core.sim.ordertypes import LIMIT_KIND, STOP_KIND, kind_of
from vibe_core.sim.points import Point, bar_points
from vibe_core.sim.quiet import inside
from vibe_core.sim.slippage import slippage_fraction, slipped_price
from vibe_core.types import OrderStatus, OrderType, Side

__all__ = ["At", "Market", "Matcher", "VenueRecord", "match_price"]

VenueRecord: TypeAlias = OrderAccepted | OrderRejected | Filled | OrderCancelled

_PENDING = OrderStatus.PENDING
_ACCEPTED = transition(_PENDING, "accept")  #: a bracket leg's status: placed active at once


@attrs.define
class Market:
    """The last point seen for a symbol."""

    price: float | None = None
    ts: int = 0
    liquidity: float = 0.0
    remaining: float = 0.0  #: liquidity of the last point not yet used
    range_pct: float = 0.0  #: (high - low) / open of the last observed primary bar


@attrs.define
class At:
    """The point being matched: its liquidity is used up as orders fill."""

    ts: int
    price: float
    liquidity: float
    remaining: float
    range_pct: float


def match_price(
    order: Order, *, triggered: bool, start: float, price: float, continuous: bool
) -> tuple[float | None, bool]:
    """The matched (pre-slippage) price of ``order`` on the step ``start -> price``, or None,
    and whether it has triggered by the end of the step (its kind's rule)."""
    return kind_of(order.type).match(order, triggered, start, price, continuous)


@attrs.define
class Matcher:
    """Matches points against ``book``; see the module docstring."""

    model: FillModel
    seed: int
    book: Book
    sessions: SessionTable

    # -- a bar, a point ------------------------------------------------------------------------------

    def bar(self, bar: Bar, market: Market, cold: frozenset[str], fast: bool) -> list[VenueRecord]:
        """Match the bar's four points; ``cold``: ids no price of the bar can reach (skipped).

        ``fast``: stop after a point that leaves the bar quiet for the book (the later points
        would only move the last price, to the close, its liquidity untouched).
        """
        range_pct = market.range_pct  # (the last closed bar's: this bar's range is not known yet)
        in_session = self.sessions.is_open(bar.ts)
        out: list[VenueRecord] = []
        symbol = bar.symbol
        points = bar_points(bar)
        last = points[3]
        at = At(ts=0, price=0.0, liquidity=0.0, remaining=0.0, range_pct=range_pct)  # (per point)
        books = self.book.by_symbol
        for point in points:
            self.point(symbol, market, point, at, in_session, cold, out)
            if fast and point is not last:
                book = books.get(symbol)
                if book is None or inside(self.book.band(symbol, book), bar.low, bar.high, last.ts):
                    market.price, market.ts = last.price, last.ts
                    market.liquidity = market.remaining = last.liquidity
                    break
        return out

    def point(
        self,
        symbol: str,
        market: Market,
        point: Point,
        at: At,
        in_session: bool,
        cold: frozenset[str],
        out: list[VenueRecord],
    ) -> None:
        """Match one point; ``at`` is set to it (one object per bar, reused point after point)."""
        ts, price = point.ts, point.price
        prev, prev_ts = market.price, market.ts
        at.ts, at.price = ts, price
        at.liquidity = at.remaining = point.liquidity
        book = self.book
        orders = book.orders
        for w in tuple(book.by_symbol.get(symbol, ())):  # orders placed at this point: see _bracket
            order_id = w.order.id
            if orders.get(order_id) is not w:
                continue  # finished earlier at this point (one-cancels-other)
            if w.expires is not None and ts >= w.expires:
                out.append(book.finish(w, "expire", ts, "expired"))
                continue
            if not in_session or w.active_ts > ts:
                continue
            if w.status is _PENDING:
                book.activate(w)
            if order_id in cold:
                continue  # cannot match anywhere in this bar
            if not point.jump and prev is not None and w.active_ts <= prev_ts:
                self.step(w, prev, price, True, at, out)
            else:
                self.step(w, price, price, False, at, out)
        market.price, market.ts = price, ts
        market.liquidity, market.remaining = point.liquidity, at.remaining

    def new_order(self, w: Working, start: float, continuous: bool, at: At, out: list[VenueRecord]) -> None:
        """Check a new order at ``start`` at once, then along the rest of a continuous step."""
        self.step(w, start, start, False, at, out)
        if continuous and start != at.price and w.status not in TERMINAL:
            self.step(w, start, at.price, True, at, out)

    def step(
        self, w: Working, start: float, price: float, continuous: bool, at: At, out: list[VenueRecord]
    ) -> None:
        """Match ``w`` on the step ``start -> price`` and fill it when its kind gives a price."""
        ref, triggered = w.kind.match(w.order, w.triggered, start, price, continuous)
        self.book.set_triggered(w, triggered)
        if ref is not None:
            self.fill(w, ref, continuous, at, out)

    def at_close(self, w: Working, close: int, market: Market, out: list[VenueRecord]) -> None:
        """Fill ``w`` completely at the session's last price (``market``), stamped at ``close``.

        Liquidity caps and partial draws do not apply. An order whose fill delay passed with no
        point since is still pending: it is active now.
        """
        assert market.price is not None
        if w.status is _PENDING:
            self.book.activate(w)
        at = At(ts=close, price=market.price, liquidity=0.0, remaining=0.0, range_pct=market.range_pct)
        self.fill(w, market.price, False, at, out, whole=True)

    # -- fills -------------------------------------------------------------------------------------

    def _draw(self, w: Working) -> float:
        value = uniform(self.seed, w.order.id, w.draws)
        w.draws += 1
        return value

    def _fill_qty(self, w: Working, at: At) -> int:
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

    def _fill_price(self, w: Working, ref: float, qty: int, at: At) -> float:
        if w.kind.slips:
            f = slippage_fraction(self.model, range_pct=at.range_pct, qty=qty, liquidity=at.liquidity)
            return slipped_price(ref, w.order.side, f)
        return round(ref, 4)  # a limit fill is never worse than the limit: no slippage

    def fill(
        self,
        w: Working,
        ref: float,
        continuous: bool,
        at: At,
        out: list[VenueRecord],
        *,
        whole: bool = False,
    ) -> None:
        """Fill ``w`` at ``ref`` (before slippage) as far as the point and its budget allow."""
        qty = w.remaining if whole else self._fill_qty(w, at)
        if qty <= 0:
            return
        order = w.order
        book = self.book
        price = self._fill_price(w, ref, qty, at)
        capped = False
        if order.side is Side.BUY and order.max_notional is not None:
            budget = order.max_notional - w.spent
            if qty * price > budget:
                capped = True
                qty = math.floor(budget / price)
                if qty <= 0:
                    out.append(book.finish(w, "cancel", at.ts, "insufficient cash"))
                    return
                price = self._fill_price(w, ref, qty, at)
        at.remaining = max(0.0, at.remaining - qty)
        done = book.fill(w, qty, qty * price)
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
            strategy=order.strategy,
        )
        out.append(Filled(ts=at.ts, fill=fill))
        if not done and capped:
            out.append(book.finish(w, "cancel", at.ts, "insufficient cash"))
        if w.sibling is not None:
            sibling = book.orders.get(w.sibling)
            if sibling is not None:
                sibling.reduced += qty
                if sibling.remaining <= 0:
                    out.append(book.finish(sibling, "cancel", at.ts, "oco"))
        if order.stop_loss is not None or order.take_profit is not None:
            self._bracket(w, qty, ref, continuous, at, out)

    def _bracket(
        self, parent: Working, qty: int, ref: float, continuous: bool, at: At, out: list[VenueRecord]
    ) -> None:
        """Place a stop and a target for the ``qty`` just filled, one-cancels-other, matched from ``ref``."""
        parent.pairs += 1
        p = parent.order
        suffix = "" if parent.pairs == 1 else f"-{parent.pairs}"
        side = p.side.opposite
        book = self.book
        session_index = self.sessions.last_index_at_or_before(at.ts)
        children: list[Working] = []
        for name, price, kind, tag in (
            ("sl", p.stop_loss, STOP_KIND, "stop"),
            ("tp", p.take_profit, LIMIT_KIND, "target"),
        ):
            if price is None:
                continue
            leg = derived_order(
                f"{p.id}-{name}{suffix}",
                p.symbol,
                side,
                qty,
                kind.type,
                at.ts,
                price if kind.type is OrderType.LIMIT else None,
                price if kind.type is OrderType.STOP else None,
                p.tif,
                p.id,
                tag,
                p.strategy,
            )
            book.remember(leg.id, session_index)
            # a leg lives as long as its parent (a DAY leg of a close fill: not past it)
            child = Working(
                order=leg,
                kind=kind,
                status=_ACCEPTED,
                active_ts=at.ts,
                expires=parent.expires,
            )
            out.append(OrderAccepted(ts=at.ts, order_id=leg.id, order=leg))
            book.add(child)
            children.append(child)
        if len(children) == 2:
            book.link(children[0], children[1])
        for child in children:
            if child.status in TERMINAL or (child.expires is not None and at.ts >= child.expires):
                continue  # done, or placed at its session's close (on_clock expires it)
            self.new_order(child, ref, continuous, at, out)
