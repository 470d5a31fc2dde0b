"""The simulated exchange: accepts orders into its book and matches them against the price path.

State: :class:`Venue`: the :class:`~vibe_core.sim.book.Book` (working orders, one-cancels-other,
expiry, recent ids) and the last point per symbol (price, time, unused liquidity, the last
observed primary bar's range).
Consumes: orders (``submit``), cancels, bars (``on_bar``: four points each), prints
(``on_trade``: one point each), time (``on_clock``: fill-delay activation and DAY expiry) and
closed primary bars (``observe_bar``: the volatility for prints).
Emits: records ``OrderAccepted`` / ``OrderRejected`` / ``Filled`` / ``OrderCancelled``.
Invariants: those of the book and of :mod:`~vibe_core.sim.matching`; every draw comes from
(seed, order id, index); with ``fast`` on or off, the same inputs give the same records and
the same snapshots.

# Theory of operation (DESIGN §3, one rule for backtest and live)
- An order is checked (:mod:`~vibe_core.sim.admission`: quantity, symbol, a registered type with
  the prices its kind needs, an open session, the pause, cash) and accepted or rejected. It is active from
  ``order.ts + delay`` (delay drawn per order, in ms). A new order whose kind is checked at once
  (all but market orders) and that is active at once meets the last price of the current session
  (a sell stop at or above it fills there); a market order waits for the next point.
- Points are matched in time order by :class:`~vibe_core.sim.matching.Matcher`. A point outside
  a regular session is not matched (it only moves the last price).
- A DAY order lives until its session's close (a bracket leg: its parent's). At the close
  (``on_clock``) a DAY order whose kind fills at the close (market) and that is active by then
  fills completely at the session's last price (market-on-close); every other DAY order
  expires, including legs placed by a close fill.
- Fast path (``fast=True``, the default): a bar that no working order of its symbol can act in
  (:mod:`~vibe_core.sim.quiet`) is not walked; it only becomes the symbol's last point, written
  when next read (:meth:`Venue._market`). ``fast=False`` walks every point of every bar.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from vibe_core.calendar import SessionTable
from vibe_core.codec import structure, unstructure
from vibe_core.config import FillModel
from vibe_core.events import Bar, OrderAccepted, OrderRejected, Trade
from vibe_core.models import Order
from vibe_core.orders import transition
from vibe_core.sim.admission import expiry, fill_delay_ns, rejection
from vibe_core.sim.book import PROGRESS, Book, Working
from vibe_core.sim.matching import At, Market, Matcher, VenueRecord
from vibe_core.sim.ordertypes import find, kind_of
from vibe_core.sim.points import POINT_OFFSETS, trade_point
from vibe_core.sim.quiet import Band, cold_if_acting, inside
from vibe_core.sim.slippage import bar_range_pct
from vibe_core.types import OrderStatus, Timeframe

__all__ = ["Venue", "VenueRecord", "fill_delay_ns"]

_INF = math.inf
_PENDING = OrderStatus.PENDING
_NO_COLD: frozenset[str] = frozenset()
_CLOSE_OFFSET = {tf: tf.ns * POINT_OFFSETS[-1] // 300 for tf in Timeframe}  #: bar open -> its close point


@attrs.define
class Venue:
    """The simulated exchange of one run; see the module docstring for the rules."""

    model: FillModel
    seed: int
    symbols: frozenset[str]
    sessions: SessionTable
    fast: bool = attrs.field(default=True, kw_only=True, eq=False)  #: skip quiet bars (see above)
    _book: Book = attrs.field(factory=Book, init=False, repr=False)
    _markets: dict[str, Market] = attrs.field(factory=dict, init=False, repr=False)
    #: symbol -> its latest bar that met no order, not yet written into its Market (see _market)
    _unseen: dict[str, Bar] = attrs.field(factory=dict, init=False, repr=False)
    #: the last closed primary bar per symbol not yet folded into its market's ``range_pct``
    _closed: dict[str, Bar] = attrs.field(factory=dict, init=False, repr=False)
    _matcher: Matcher = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._matcher = Matcher(model=self.model, seed=self.seed, book=self._book, sessions=self.sessions)

    # -- commands ----------------------------------------------------------------------------------

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
        book = self._book
        order_id, ts = order.id, order.ts
        if book.known(order_id):
            return []
        sessions = self.sessions
        index = sessions.last_index_at_or_before(ts)
        book.remember(order_id, index)
        session = sessions.sessions[index] if index >= 0 else None
        if session is not None and ts >= session.close:
            session = None  # (the session open at ts, as SessionTable.session_at: one lookup for all)
        kind = find(order.type)
        account = (cash, position, paused, allow_margin)
        reason = rejection(order, kind, self.symbols, session, self.last_price, *account)
        if reason is not None:
            transition(_PENDING, "reject")
            return [OrderRejected(ts=ts, order_id=order_id, symbol=order.symbol, reason=reason)]
        assert kind is not None
        delay = fill_delay_ns(self.model, self.seed, order_id)
        expires = expiry(order, session)
        w = Working(order=order, kind=kind, status=_PENDING, active_ts=ts + delay, expires=expires)
        out: list[VenueRecord] = [OrderAccepted(ts=ts, order_id=order_id, order=order)]
        book.add(w)
        if delay == 0:
            book.accept(w)
            if kind.checked_at_once:
                self._check_at_last(w, out)
        return out

    def cancel(self, order_id: str, ts: int, reason: str) -> list[VenueRecord]:
        """Cancel a working order; an unknown or finished order is a no-op (it may just have filled)."""
        w = self._book.orders.get(order_id)
        if w is None:
            return []
        return [self._book.finish(w, "cancel", ts, reason)]

    # -- market data and time ----------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> list[VenueRecord]:
        """Match the bar's four points against the symbol's working orders."""
        return self.on_bars((bar,))

    def on_bars(self, bars: Sequence[Bar]) -> list[VenueRecord]:
        """Match each bar's four points in turn (one bar-mode step: every symbol's bar at once).

        The bars are of different symbols, and matching one symbol reads nothing of another's, so
        one call for the step gives the records of the bars one by one.
        """
        out: list[VenueRecord] = []
        if not self.fast:
            for bar in bars:
                out += self._matcher.bar(bar, self._market(bar.symbol), _NO_COLD, False)
            return out
        by_symbol = self._book.by_symbol
        unseen = self._unseen
        for bar in bars:
            symbol = bar.symbol
            book = by_symbol.get(symbol)
            if book is not None:
                end = bar.ts + _CLOSE_OFFSET[bar.timeframe]  # the bar's close point
                low, high = bar.low, bar.high
                if not inside(self._book.band(symbol, book), low, high, end):
                    cold_ids = cold_if_acting(book, low, high, end)
                    if cold_ids is not None:
                        out += self._matcher.bar(bar, self._market(symbol), cold_ids, True)
                        continue
            # no order can act in this bar: it only becomes the last point, written when next read
            unseen[symbol] = bar
        return out

    def on_trade(self, trade: Trade) -> list[VenueRecord]:
        """Match one print (a jump offering its size) against the symbol's working orders."""
        symbol = trade.symbol
        market = self._market(symbol)
        if self.fast and symbol not in self._book.by_symbol:  # nothing to match: a new last point
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
        at = At(ts=0, price=0.0, liquidity=0.0, remaining=0.0, range_pct=market.range_pct)
        self._matcher.point(symbol, market, point, at, in_session, _NO_COLD, out)
        return out

    def _new_interval(self, market: Market, ts: int) -> bool:
        """Is a print at ``ts`` the first of its primary bar (a jump), or continuous with the last one?

        Consecutive prints inside one session-aligned 5m interval are a continuous path, exactly
        like the points inside a bar, so a replay of a bar's points as prints matches as the bar does.
        """
        if market.price is None:
            return True
        session = self.sessions.session_at(ts)
        if session is None or market.ts < session.open:
            return True
        step = Timeframe.M5.ns
        return (market.ts - session.open) // step != (ts - session.open) // step

    def on_clock(self, ts: int) -> list[VenueRecord]:
        """Time ``ts`` has come: orders whose fill delay has passed are active; at or after a DAY
        order's session close, a working market order fills at the session's last price
        (market-on-close), every other DAY order expires (``OrderCancelled`` "expired").

        The legs of a bracket parent filled at the close are DAY orders of that ended session: they
        are placed, not matched, and expire in the same call.
        """
        book = self._book
        for w in book.orders.values():
            if w.status is _PENDING and w.active_ts <= ts:
                book.activate(w)
        if book.next_expiry is None or ts < book.next_expiry:
            return []
        out: list[VenueRecord] = []
        due = book.due(ts)
        while due:
            for w in due:
                if book.orders.get(w.order.id) is not w:
                    continue  # finished earlier in this call (one-cancels-other)
                assert w.expires is not None
                if w.kind.fills_at_close and w.active_ts <= w.expires:
                    self._fill_at_close(w, w.expires, out)
                if book.orders.get(w.order.id) is w:
                    out.append(book.finish(w, "expire", ts, "expired"))
            due = book.due(ts)
        book.refresh_expiry()
        return out

    def _fill_at_close(self, w: Working, close: int, out: list[VenueRecord]) -> None:
        """A DAY market order working at the close (active by then) fills at the session's last price.

        It is what a market-on-close fallback does, and it keeps "flat at every close" true when
        the bars after the flatten time are missing.
        """
        market = self._last(w.order.symbol)
        if market is None or market.price is None:
            return
        if self.sessions.index_at(market.ts) != self.sessions.index_at(close - 1):
            return  # no price in this session
        self._matcher.at_close(w, close, market, out)

    def observe_bar(self, bar: Bar) -> None:
        """:meth:`observe_bars` of one bar."""
        self.observe_bars((bar,))

    def observe_bars(self, bars: Iterable[Bar]) -> None:
        """Closed bars: a primary bar's range is the volatility term of slippage until the next closes.

        Both shells show the venue the same closed bars (bar mode its input bars as they close,
        live mode the bars built from prints), so a fill's slippage never reads the bar it is in.
        The range is taken when the symbol's market is next read (:meth:`_market`).
        """
        if not self.model.slippage_volatility:
            return  # (no volatility term: ranges are never read)
        closed = self._closed
        primary = Timeframe.M5
        for bar in bars:
            if bar.timeframe is primary:
                closed[bar.symbol] = bar

    def skip(self, matched: Iterable[Bar], closed: Iterable[Bar]) -> None:
        """Quiet bars passed (the backtest loop's catch-up): ``matched`` the last bar matched per
        symbol, ``closed`` the last closed. Precondition: every skipped bar was inside its symbol's
        band (:meth:`bands`), so matching would only have moved the last price (as in :meth:`on_bars`)."""
        for bar in matched:
            self._unseen[bar.symbol] = bar
        self.observe_bars(closed)

    def bands(self) -> dict[str, Band] | None:
        """Each symbol's quiet band (symbols without working orders have none: any bar is quiet), or
        ``None`` when bars cannot be skipped (the fast path is off)."""
        if not self.fast:
            return None
        book = self._book
        return {symbol: book.band(symbol, working) for symbol, working in book.by_symbol.items()}

    def next_deadline(self) -> int | None:
        """The earliest time the venue has work without market data: a pending order's activation
        after its fill delay, or a DAY order's session close; ``None`` when there is none.

        ``on_clock`` at that time does the work, so the deadline then moves on.
        """
        times = [t for t in (self._book.next_activation(), self._book.next_expiry) if t is not None]
        return min(times, default=None)

    # -- reads -------------------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Working orders (pending their delay or resting), in time priority."""
        if symbol is None:
            return [w.order for w in self._book.orders.values()]
        return [w.order for w in self._book.by_symbol.get(symbol, ())]

    def remaining_qty(self, order_id: str) -> int:
        """Shares still working on ``order_id`` (0 when it is not working)."""
        w = self._book.orders.get(order_id)
        return 0 if w is None else w.remaining

    def status(self, order_id: str) -> OrderStatus | None:
        """Status of a working order; None once it is done (done orders are dropped)."""
        w = self._book.orders.get(order_id)
        return None if w is None else w.status

    def last_price(self, symbol: str) -> float | None:
        market = self._last(symbol)
        return None if market is None else market.price

    def _market(self, symbol: str) -> Market:
        """The symbol's last point, the bar that met no order since written in: its close point.

        A bar no order can act in changes nothing but the last point, so :meth:`on_bar` only keeps
        the bar (one store instead of four), and a closed bar only its range (:meth:`observe_bars`);
        every read of the last point goes through here.
        """
        market = self._markets.get(symbol)
        if market is None:
            market = self._markets[symbol] = Market()
        closed = self._closed.pop(symbol, None)
        if closed is not None:
            market.range_pct = bar_range_pct(closed.high, closed.low, closed.open)
        bar = self._unseen.pop(symbol, None)
        if bar is not None:
            market.price = bar.close
            market.ts = bar.ts + _CLOSE_OFFSET[bar.timeframe]
            market.liquidity = market.remaining = bar.volume * 0.25
        return market

    def _last(self, symbol: str) -> Market | None:
        """:meth:`_market` for reads that need no market yet: ``None`` before any point."""
        pending = symbol in self._unseen or symbol in self._closed
        return self._market(symbol) if pending else self._markets.get(symbol)

    def _check_at_last(self, w: Working, out: list[VenueRecord]) -> None:
        """A new order meets the last price of the current session at once."""
        market = self._last(w.order.symbol)
        if market is None or market.price is None:
            return
        ts = w.order.ts
        if self.sessions.index_at(market.ts) != self.sessions.index_at(ts):
            return  # the last price is from an earlier session: the next open decides
        at = At(
            ts=ts,
            price=market.price,
            liquidity=market.liquidity,
            remaining=market.remaining,
            range_pct=market.range_pct,
        )
        self._matcher.new_order(w, market.price, False, at, out)
        market.remaining = at.remaining

    # -- persistence -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state; :meth:`restore` rebuilds an equal venue (the model comes from config).

        Saving has no side effect: a bar not yet folded into its symbol's last point (see
        :meth:`_market`) is folded into the saved copy only."""
        book = self._book
        markets = {s: attrs.asdict(m) for s, m in self._markets.items()}
        for symbol, bar in self._closed.items():
            markets.setdefault(symbol, attrs.asdict(Market()))["range_pct"] = bar_range_pct(
                bar.high, bar.low, bar.open
            )
        for symbol, bar in self._unseen.items():
            liquidity = bar.volume * 0.25
            markets.setdefault(symbol, attrs.asdict(Market())).update(
                price=bar.close,
                ts=bar.ts + _CLOSE_OFFSET[bar.timeframe],
                liquidity=liquidity,
                remaining=liquidity,
            )
        return {
            "seed": self.seed,
            "symbols": sorted(self.symbols),
            "orders": [
                {"order": unstructure(w.order), "status": w.status.value, **w.progress()}
                for w in book.orders.values()
            ],
            "markets": markets,
            "recent": dict(book.recent),
            "recent_session": book.recent_session,
            "next_expiry": book.next_expiry,
        }

    @classmethod
    def restore(
        cls, data: dict[str, Any], model: FillModel, sessions: SessionTable, *, fast: bool = True
    ) -> Venue:
        venue = cls(
            model=model, seed=data["seed"], symbols=frozenset(data["symbols"]), sessions=sessions, fast=fast
        )
        book = venue._book
        for row in data["orders"]:
            order = structure(row["order"], Order)
            book.add(
                Working(
                    order=order,
                    kind=kind_of(order.type),
                    status=OrderStatus(row["status"]),
                    **{k: row[k] for k in PROGRESS},
                )
            )
        venue._markets = {s: Market(**m) for s, m in data["markets"].items()}
        book.recent = dict(data["recent"])
        book.recent_session = data["recent_session"]
        book.next_expiry = data["next_expiry"]
        return venue
