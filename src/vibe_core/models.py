"""Value types that events and actions carry: orders, fills, signals, round-trip trades.

All are frozen, slotted, keyword-only attrs classes; :mod:`vibe_core.codec` converts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import attrs

from vibe_core.fastinit import fast_init
from vibe_core.types import ExitReason, OrderType, Side, TimeInForce

__all__ = ["Order", "Fill", "Signal", "TradeRecord", "PositionView", "AccountView"]


@fast_init
@attrs.frozen(kw_only=True)
class Order:
    """An order as submitted. Ids are deterministic (``AAPL-20240315-1``) so a resubmission is idempotent.

    ``stop_loss``/``take_profit`` make it a bracket: when it fills, the venue places a stop and a
    limit for the filled quantity, linked one-cancels-other, matched from the fill's point on.
    """

    make: ClassVar[Callable[..., Order]]  #: ``Order(...)`` as a plain call (fast_init)

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


@fast_init
@attrs.frozen(kw_only=True)
class Fill:
    """One execution. ``ref_price`` is the matched price before slippage."""

    make: ClassVar[Callable[..., Fill]]  #: ``Fill(...)`` as a plain call (fast_init)

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


@fast_init
@attrs.frozen(kw_only=True)
class Signal:
    """A strategy's wish to enter, before validation and risk."""

    make: ClassVar[Callable[..., Signal]]  #: ``Signal(...)`` as a plain call (fast_init)

    symbol: str
    ts: int
    side: Side
    price: float
    stop: float
    target: float
    strategy: str = "orb"
    range_high: float | None = None
    range_low: float | None = None


@fast_init
@attrs.frozen(kw_only=True)
class TradeRecord:
    """A closed round trip."""

    make: ClassVar[Callable[..., TradeRecord]]  #: ``TradeRecord(...)`` as a plain call (fast_init)

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


@attrs.frozen(kw_only=True)
class PositionView:
    symbol: str
    qty: int
    avg_price: float
    last_price: float
    unrealized_pnl: float
    realized_pnl: float


@attrs.frozen(kw_only=True)
class AccountView:
    ts: int
    cash: float
    equity: float
    realized_pnl: float
    unrealized_pnl: float
    gross_exposure: float
