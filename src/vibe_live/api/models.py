"""The API's wire shapes (docs/api.md): msgspec structs, so Litestar encodes them fast and the
OpenAPI schema at ``/schema`` names every field.

Times are ISO 8601 UTC strings with a ``Z``; money is dollars; quantities are ints (signed for
positions). A struct here is the contract with the dashboard: change it with docs/api.md.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "Account",
    "Position",
    "Positions",
    "OrderRow",
    "Orders",
    "TradeRow",
    "Trades",
    "FillRow",
    "Fills",
    "SignalRow",
    "Signals",
    "EquityPoint",
    "EquityCurve",
    "BarRow",
    "OpeningRange",
    "Marker",
    "Bars",
    "Performance",
    "FeedState",
    "Gap",
    "HealthMetrics",
    "Live",
    "Check",
    "Ready",
    "Accepted",
    "ErrorBody",
    "Period",
    "Mode",
]

Period = Literal["day", "week", "month", "all"]
Mode = Literal["live", "replay", "results"]


class Account(msgspec.Struct, kw_only=True):
    ts: str | None
    cash: float
    equity: float
    unrealized_pnl: float
    realized_pnl: float
    daily_pnl: float
    gross_exposure: float
    open_positions: int
    total_trades: int
    trades_today: int
    paused: bool
    halted: bool
    session_date: str | None
    session_open: bool
    mode: Mode


class Position(msgspec.Struct, kw_only=True):
    symbol: str
    qty: int
    avg_price: float
    last_price: float
    unrealized_pnl: float
    realized_pnl: float


class Positions(msgspec.Struct, kw_only=True):
    positions: list[Position]


class OrderRow(msgspec.Struct, kw_only=True):
    id: str
    time: str
    symbol: str
    side: str
    type: str
    qty: int
    status: str  #: working, partially_filled, filled, cancelled, rejected
    limit_price: float | None
    stop_price: float | None
    filled_qty: int
    avg_fill_price: float | None
    reason: str  #: why it was cancelled or rejected ("" otherwise)
    tag: str = ""  #: entry, stop, target, eod, close_all...


class Orders(msgspec.Struct, kw_only=True):
    orders: list[OrderRow]
    next_cursor: str | None


class TradeRow(msgspec.Struct, kw_only=True):
    symbol: str
    side: str
    qty: int
    entry_time: str
    entry_price: float
    exit_time: str
    exit_price: float
    pnl: float
    fees: float | None  #: None when the source does not say (a backtest's trades.csv has no fees)
    exit_reason: str
    strategy: str
    r_multiple: float | None  #: pnl per share over the entry signal's risk per share


class Trades(msgspec.Struct, kw_only=True):
    trades: list[TradeRow]
    next_cursor: str | None


class FillRow(msgspec.Struct, kw_only=True):
    time: str
    order_id: str
    symbol: str
    side: str
    qty: int
    price: float
    fee: float


class Fills(msgspec.Struct, kw_only=True):
    fills: list[FillRow]
    next_cursor: str | None


class SignalRow(msgspec.Struct, kw_only=True):
    time: str
    symbol: str
    side: str
    verdict: Literal["accepted", "vetoed"]
    reasons: list[str]  #: every check's verdict, passes included
    strategy: str
    vetoes: list[str] = []  #: the failing checks only
    price: float | None = None
    stop: float | None = None
    target: float | None = None
    qty: int = 0


class Signals(msgspec.Struct, kw_only=True):
    signals: list[SignalRow]
    next_cursor: str | None


class EquityPoint(msgspec.Struct, kw_only=True):
    time: str
    equity: float
    cash: float
    drawdown: float  #: fraction below the running peak (0 .. 1)


class EquityCurve(msgspec.Struct, kw_only=True):
    equity: list[EquityPoint]


class BarRow(msgspec.Struct, kw_only=True):
    time: str
    open: float
    high: float
    low: float
    close: float
    volume: float


class OpeningRange(msgspec.Struct, kw_only=True):
    date: str
    high: float
    low: float


class Marker(msgspec.Struct, kw_only=True):
    time: str
    price: float
    kind: Literal["entry", "exit"]
    side: str
    pnl: float | None


class Bars(msgspec.Struct, kw_only=True):
    symbol: str
    timeframe: str
    bars: list[BarRow]
    opening_range: OpeningRange | None
    markers: list[Marker]


class Performance(msgspec.Struct, kw_only=True):
    period: Period
    pnl: float
    return_pct: float
    win_rate: float | None
    sharpe: float
    max_drawdown_pct: float
    trades: int
    avg_duration_minutes: float | None


class FeedState(msgspec.Struct, kw_only=True):
    connected: bool
    reconnects: int
    last_print_age_seconds: dict[str, float]


class Gap(msgspec.Struct, kw_only=True, rename={"start": "from", "end": "to"}):
    symbol: str
    start: str
    end: str
    recovered: bool


class HealthMetrics(msgspec.Struct, kw_only=True):
    uptime_seconds: float
    feed: FeedState
    last_data_time: str | None
    cpu_percent: float
    rss_bytes: int
    errors_last_hour: int
    gaps: list[Gap]


class Live(msgspec.Struct, kw_only=True):
    status: Literal["alive"]
    uptime_seconds: float


class Check(msgspec.Struct, kw_only=True):
    ok: bool
    detail: str


class Ready(msgspec.Struct, kw_only=True):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]


class Accepted(msgspec.Struct, kw_only=True):
    accepted: bool
    seq: int  #: the command's position in the event log


class ErrorBody(msgspec.Struct, kw_only=True):
    detail: str
    field: str | None = None
