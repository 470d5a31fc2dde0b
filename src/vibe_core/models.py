"""Value types that events and actions carry: orders, fills, signals, round-trip trades, views.

State: none: frozen, slotted attrs values.
Consumes: nothing (built by the engine's stages, shells and tests).
Emits: nothing (carried by events and actions).
Invariants: every instance passed its field checks (:mod:`vibe_core.checks`), e.g. an order
carries the prices its type needs; an order from :func:`derived_order` (the venue's bracket legs)
carries only values a checked order carried.

All are frozen, slotted, keyword-only attrs classes, checked where they are built (a bad field is a
``ValueError`` naming the class, the field and the value; see :mod:`vibe_core.checks`);
:mod:`vibe_core.codec` converts them.
"""

from __future__ import annotations

from enum import Enum

import attrs

from vibe_core.checks import (
    INF,
    field,
    finite,
    instance,
    name,
    optional_price,
    optional_size,
    price,
    quantity,
    reject,
    relation,
    size,
    text,
    timestamp,
)
from vibe_core.types import ExitReason, OrderType, Side, TimeInForce

__all__ = ["Order", "Fill", "Signal", "TradeRecord", "PositionView", "AccountView", "derived_order"]


@attrs.frozen(kw_only=True)
class Order:
    """An order as submitted. Ids are deterministic (``AAPL-20240315-1``) so a resubmission is idempotent.

    ``stop_loss``/``take_profit`` make it a bracket: when it fills, the venue places a stop and a
    limit for the filled quantity, linked one-cancels-other, matched from the fill's point on.
    Checks: ``qty`` > 0; every price finite and > 0 when set; a limit (stop-limit) order has a
    ``limit_price``, a stop (stop-limit) order a ``stop_price``; ``max_notional`` finite and >= 0.
    """

    id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType = OrderType.MARKET
    ts: int
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.DAY
    stop_loss: float | None = None
    take_profit: float | None = None
    parent_id: str | None = None
    tag: str = ""
    max_notional: float | None = None  #: cash cap checked at execution: buys never spend more
    strategy: str = ""  #: the strategy whose signal the order (or its bracket) comes from

    def __attrs_post_init__(self) -> None:
        kind, limit, stop = self.type, self.limit_price, self.stop_price
        try:
            ok = (
                type(self.id) is str and self.id != ""
                and type(self.symbol) is str and self.symbol != ""
                and type(self.side) is Side and type(self.qty) is int and self.qty > 0
                and isinstance(kind, Enum) and type(self.ts) is int and type(self.tif) is TimeInForce
                and (limit is None or 0.0 < limit < INF)
                and (stop is None or 0.0 < stop < INF)
                and (limit is not None or (kind is not OrderType.LIMIT and kind is not OrderType.STOP_LIMIT))
                and (stop is not None or (kind is not OrderType.STOP and kind is not OrderType.STOP_LIMIT))
                and (self.stop_loss is None or 0.0 < self.stop_loss < INF)
                and (self.take_profit is None or 0.0 < self.take_profit < INF)
                and (self.parent_id is None or type(self.parent_id) is str)
                and type(self.tag) is str
                and (self.max_notional is None or 0.0 <= self.max_notional < INF)
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _ORDER)


def derived_order(
    id: str,
    symbol: str,
    side: Side,
    qty: int,
    type: Enum,
    ts: int,
    limit_price: float | None,
    stop_price: float | None,
    tif: TimeInForce,
    parent_id: str,
    tag: str,
    strategy: str,
) -> Order:
    """An :class:`Order` built from values a checked order already carries (the venue's bracket
    legs: the parent's symbol, prices, tif and strategy; a fill's quantity), without the checks of
    ``Order(...)``: the same instance for half the cost (two legs per entry fill). ``stop_loss``,
    ``take_profit`` and ``max_notional`` are unset."""
    order = _new(Order)  # (unrolled: a loop over the setters costs a third more)
    _SET[0](order, id)
    _SET[1](order, symbol)
    _SET[2](order, side)
    _SET[3](order, qty)
    _SET[4](order, type)
    _SET[5](order, ts)
    _SET[6](order, limit_price)
    _SET[7](order, stop_price)
    _SET[8](order, tif)
    _SET[9](order, None)  # stop_loss
    _SET[10](order, None)  # take_profit
    _SET[11](order, parent_id)
    _SET[12](order, tag)
    _SET[13](order, None)  # max_notional
    _SET[14](order, strategy)
    return order


_new = object.__new__
#: the slots' own setters, in field order (a frozen class refuses ``setattr``; ``Order(...)`` sets
#: its fields the same way)
_SET = tuple(Order.__dict__[a.name].__set__ for a in attrs.fields(Order))


_ORDER = (
    field("id", name),
    field("symbol", name),
    instance("side", Side),
    field("qty", quantity),
    # OrderType, or the enum of an order type registered in vibe_core.sim.ordertypes
    field("type", lambda v: isinstance(v, Enum), "an order type (an Enum member)"),
    field("ts", timestamp),
    instance("tif", TimeInForce),
    field("limit_price", optional_price),
    field("stop_price", optional_price),
    relation(
        "limit_price",
        lambda o: o.limit_price is not None or o.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT),
        "set for a limit or stop-limit order",
    ),
    relation(
        "stop_price",
        lambda o: o.stop_price is not None or o.type not in (OrderType.STOP, OrderType.STOP_LIMIT),
        "set for a stop or stop-limit order",
    ),
    field("stop_loss", optional_price),
    field("take_profit", optional_price),
    field("parent_id", lambda v: v is None or type(v) is str, "None or a str"),
    field("tag", text),
    field("max_notional", optional_size),
)


@attrs.frozen(kw_only=True)
class Fill:
    """One execution. ``ref_price`` is the matched price before slippage.

    Checks: ``qty`` > 0, prices finite and > 0, ``fee`` finite and >= 0.
    """

    order_id: str
    symbol: str
    side: Side
    qty: int
    price: float
    ref_price: float
    fee: float
    ts: int
    tag: str = ""
    strategy: str = ""  #: the order's strategy

    def __attrs_post_init__(self) -> None:
        try:
            ok = (
                type(self.order_id) is str and self.order_id != ""
                and type(self.symbol) is str and self.symbol != ""
                and type(self.side) is Side and type(self.qty) is int and self.qty > 0
                and 0.0 < self.price < INF and 0.0 < self.ref_price < INF and 0.0 <= self.fee < INF
                and type(self.ts) is int and type(self.tag) is str
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _FILL)


_FILL = (
    field("order_id", name),
    field("symbol", name),
    instance("side", Side),
    field("qty", quantity),
    field("price", price),
    field("ref_price", price),
    field("fee", size),
    field("ts", timestamp),
    field("tag", text),
)


@attrs.frozen(kw_only=True)
class Signal:
    """A strategy's wish to enter, before validation and risk.

    Checks: ``price``, ``stop``, ``target`` (and the range, when given) finite and > 0. A stop on
    the wrong side is not an error here: risk sizes it to zero and says why.
    """

    symbol: str
    ts: int
    side: Side
    price: float
    stop: float
    target: float
    strategy: str = "orb"
    range_high: float | None = None
    range_low: float | None = None

    def __attrs_post_init__(self) -> None:
        high, low = self.range_high, self.range_low
        try:
            ok = (
                type(self.symbol) is str and self.symbol != "" and type(self.ts) is int
                and type(self.side) is Side
                and 0.0 < self.price < INF and 0.0 < self.stop < INF and 0.0 < self.target < INF
                and type(self.strategy) is str and self.strategy != ""
                and (high is None or 0.0 < high < INF) and (low is None or 0.0 < low < INF)
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _SIGNAL)


_SIGNAL = (
    field("symbol", name),
    field("ts", timestamp),
    instance("side", Side),
    field("price", price),
    field("stop", price),
    field("target", price),
    field("strategy", name),
    field("range_high", optional_price),
    field("range_low", optional_price),
)


@attrs.frozen(kw_only=True)
class TradeRecord:
    """A closed round trip. Checks: ``qty`` > 0, prices finite and > 0, ``pnl`` finite, ``fees`` >= 0."""

    symbol: str
    side: Side
    qty: int
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    pnl: float
    fees: float
    exit_reason: ExitReason
    strategy: str = ""  #: the strategy whose entry opened the round trip

    def __attrs_post_init__(self) -> None:
        try:
            ok = (
                type(self.symbol) is str and self.symbol != "" and type(self.side) is Side
                and type(self.qty) is int and self.qty > 0
                and type(self.entry_time) is int and type(self.exit_time) is int
                and 0.0 < self.entry_price < INF and 0.0 < self.exit_price < INF
                and -INF < self.pnl < INF and 0.0 <= self.fees < INF
                and type(self.exit_reason) is ExitReason
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _TRADE_RECORD)


_TRADE_RECORD = (
    field("symbol", name),
    instance("side", Side),
    field("qty", quantity),
    field("entry_time", timestamp),
    field("exit_time", timestamp),
    field("entry_price", price),
    field("exit_price", price),
    field("pnl", finite),
    field("fees", size),
    instance("exit_reason", ExitReason),
)


@attrs.frozen(kw_only=True)
class PositionView:
    """An open position as readers see it. Checks: ``qty`` a non-zero int, prices > 0, P&L finite."""

    symbol: str
    qty: int  #: signed: > 0 long, < 0 short
    avg_price: float
    last_price: float
    unrealized_pnl: float
    realized_pnl: float

    def __attrs_post_init__(self) -> None:
        try:
            ok = (
                type(self.symbol) is str and self.symbol != "" and type(self.qty) is int and self.qty != 0
                and 0.0 < self.avg_price < INF and 0.0 < self.last_price < INF
                and -INF < self.unrealized_pnl < INF and -INF < self.realized_pnl < INF
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _POSITION_VIEW)


_POSITION_VIEW = (
    field("symbol", name),
    field("qty", lambda v: type(v) is int and v != 0, "a non-zero int"),
    field("avg_price", price),
    field("last_price", price),
    field("unrealized_pnl", finite),
    field("realized_pnl", finite),
)


@attrs.frozen(kw_only=True)
class AccountView:
    """The account at ``ts``. Checks: every amount finite, ``gross_exposure`` >= 0."""

    ts: int
    cash: float
    equity: float
    realized_pnl: float
    unrealized_pnl: float
    gross_exposure: float

    def __attrs_post_init__(self) -> None:
        try:
            ok = (
                type(self.ts) is int and -INF < self.cash < INF and -INF < self.equity < INF
                and -INF < self.realized_pnl < INF and -INF < self.unrealized_pnl < INF
                and 0.0 <= self.gross_exposure < INF
            )  # fmt: skip
        except TypeError:
            ok = False
        if not ok:
            reject(self, _ACCOUNT_VIEW)


_ACCOUNT_VIEW = (
    field("ts", timestamp),
    field("cash", finite),
    field("equity", finite),
    field("realized_pnl", finite),
    field("unrealized_pnl", finite),
    field("gross_exposure", size),
)
