"""The read routes (``/api/...``): account, positions, orders, trades, fills, signals, equity, bars,
performance and health metrics, from whichever :class:`~vibe_live.api.source.ReadSource` the app
was made with. Handlers run on the event loop (``sync_to_thread=False``): they read the service's
read model between steps, never half-way through one."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter

from vibe_live.api.models import (
    Account,
    Bars,
    EquityCurve,
    Fills,
    HealthMetrics,
    Orders,
    Performance,
    Period,
    Positions,
    Signals,
    Trades,
)
from vibe_live.api.shapes import Query, parse_cursor, parse_since
from vibe_live.api.source import ReadSource

__all__ = ["ReadController"]

Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="rows per page (1..1000)")]
Symbol = Annotated[str | None, QueryParameter(max_length=32, description="only this symbol")]
Since = Annotated[str | None, QueryParameter(max_length=64, description="ISO 8601 time: rows at or after it")]
Cursor = Annotated[str | None, QueryParameter(max_length=64, description="next_cursor of the previous page")]
Status = Literal["working", "partially_filled", "filled", "cancelled", "rejected"]


def _query(
    symbol: str | None, since: str | None, limit: int, cursor: str | None, status: str | None = None
) -> Query:
    return Query(
        symbol=symbol or None,
        status=status,
        since=parse_since(since),
        limit=limit,
        cursor=parse_cursor(cursor),
    )


class ReadController(Controller):
    path = "/api"
    tags: ClassVar[list[str]] = ["read"]  # type: ignore[misc]

    @get("/account", sync_to_thread=False)
    def account(self, source: NamedDependency[ReadSource]) -> Account:
        """Cash, equity, P&L (unrealized, realized, today's), exposure, trade counts and the risk flags."""
        return source.account()

    @get("/positions", sync_to_thread=False)
    def positions(self, source: NamedDependency[ReadSource]) -> Positions:
        """The open positions (signed quantity: > 0 long, < 0 short)."""
        return source.positions()

    @get("/orders", sync_to_thread=False)
    def orders(
        self, source: NamedDependency[ReadSource], symbol: Symbol = None, status: FromQuery[Status | None] = None, since: Since = None,
        limit: Limit = 100, cursor: Cursor = None,
    ) -> Orders:  # fmt: skip
        """Orders, newest first, with their fills and why they were cancelled or rejected."""
        return source.orders(_query(symbol, since, limit, cursor, status))

    @get("/trades", sync_to_thread=False)
    def trades(
        self, source: NamedDependency[ReadSource], symbol: Symbol = None, since: Since = None, limit: Limit = 100,
        cursor: Cursor = None,
    ) -> Trades:  # fmt: skip
        """Closed round trips, newest first (by exit time); ``since`` filters on the exit time."""
        return source.trades(_query(symbol, since, limit, cursor))

    @get("/fills", sync_to_thread=False)
    def fills(
        self, source: NamedDependency[ReadSource], symbol: Symbol = None, since: Since = None, limit: Limit = 100,
        cursor: Cursor = None,
    ) -> Fills:  # fmt: skip
        """Fills, newest first."""
        return source.fills(_query(symbol, since, limit, cursor))

    @get("/signals", sync_to_thread=False)
    def signals(
        self, source: NamedDependency[ReadSource], symbol: Symbol = None, since: Since = None, limit: Limit = 100,
        cursor: Cursor = None,
    ) -> Signals:  # fmt: skip
        """Signals with their verdict, every check's reason and the vetoes, newest first."""
        return source.signals(_query(symbol, since, limit, cursor))

    @get("/equity", sync_to_thread=False)
    def equity(self, source: NamedDependency[ReadSource], since: Since = None) -> EquityCurve:
        """The equity curve (5-minute samples) with the drawdown from the running peak."""
        return source.equity(parse_since(since))

    @get("/bars/{symbol:str}", sync_to_thread=False)
    def bars(
        self,
        source: NamedDependency[ReadSource],
        symbol: Annotated[str, PathParameter(max_length=32)],
        timeframe: FromQuery[Literal["5m"]] = "5m",
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 200,
    ) -> Bars:
        """The symbol's latest 5m bars, its opening range and the trades' entries and exits."""
        return source.bars(symbol, limit)

    @get("/metrics/performance", sync_to_thread=False)
    def performance(
        self, source: NamedDependency[ReadSource], period: FromQuery[Period] = "all"
    ) -> Performance:
        """P&L, return, win rate, Sharpe, max drawdown, trades and average duration over a period."""
        return source.performance(period)

    @get("/metrics/health", sync_to_thread=False)
    def health(self, source: NamedDependency[ReadSource]) -> HealthMetrics:
        """Uptime, feed status, last data time, CPU, memory, errors in the last hour and gaps."""
        return source.health()
