"""Portfolio accounting: cash, positions with average price, realized/unrealized P&L, round trips.

State: :class:`Portfolio` (cash, per-symbol open round trips, last marks). The per-symbol
bookkeeping (:class:`_Position`) is private and mutable; readers get frozen
views (:class:`~vibe_core.models.PositionView`, :meth:`Portfolio.position_views`) and quantities
(:meth:`Portfolio.position_qty`).
Consumes: fills (from the simulated venue or an external broker) and marks (bar closes, prints).
Emits: :class:`~vibe_core.models.TradeRecord` when a position returns to flat.
Invariants: equity == cash + sum(qty x last mark); a round trip's P&L is the change in cash it
caused; positions never hold zero quantity (flat symbols are removed).
"""

from __future__ import annotations

from typing import Any

import attrs

from vibe_core.models import AccountView, Fill, PositionView, TradeRecord
from vibe_core.types import ExitReason, Side

__all__ = ["Portfolio", "EXIT_REASONS"]

EXIT_REASONS: dict[str, ExitReason] = {
    "target": ExitReason.TARGET,
    "stop": ExitReason.STOP,
    "eod": ExitReason.EOD,
    "close_all": ExitReason.CLOSE_ALL,
    "halt": ExitReason.HALT,
}


@attrs.define
class _Position:
    """An open position and the round trip it belongs to (bookkeeping owned by one portfolio)."""

    symbol: str
    qty: int  #: signed: > 0 long, < 0 short
    avg_price: float
    entry_time: int
    entry_qty: int  #: shares opened in this round trip (sum of entry fills)
    entry_cost: float  #: sum of entry fill price x qty (for the average entry price)
    exit_qty: int = 0
    exit_value: float = 0.0
    fees: float = 0.0
    realized: float = 0.0  #: P&L realized so far in this round trip, fees excluded
    strategy: str = ""  #: the strategy of the opening fill


@attrs.define
class Portfolio:
    cash: float
    initial_capital: float
    positions: dict[str, _Position] = attrs.Factory(dict)  #: never holds a zero quantity
    marks: dict[str, float] = attrs.Factory(dict)
    realized_pnl: float = 0.0  #: all closed P&L net of fees
    fees_paid: float = 0.0
    n_fills: int = 0

    @classmethod
    def new(cls, initial_capital: float) -> Portfolio:
        return cls(cash=initial_capital, initial_capital=initial_capital)

    # -- reads -----------------------------------------------------------------------------
    def position_qty(self, symbol: str) -> int:
        pos = self.positions.get(symbol)
        return 0 if pos is None else pos.qty

    def equity(self) -> float:
        equity = self.cash
        marks = self.marks
        for symbol, p in self.positions.items():
            equity += p.qty * marks.get(symbol, p.avg_price)
        return equity

    def gross_exposure(self) -> float:
        marks = self.marks
        gross = 0.0
        for symbol, p in self.positions.items():
            gross += abs(p.qty) * marks.get(symbol, p.avg_price)
        return gross

    def unrealized_pnl(self) -> float:
        marks = self.marks
        return sum(p.qty * (marks.get(s, p.avg_price) - p.avg_price) for s, p in self.positions.items())

    def account(self, ts: int) -> AccountView:
        return AccountView(
            ts=ts,
            cash=self.cash,
            equity=self.equity(),
            realized_pnl=self.realized_pnl,
            unrealized_pnl=self.unrealized_pnl(),
            gross_exposure=self.gross_exposure(),
        )

    def position_views(self) -> list[PositionView]:
        return [
            PositionView(
                symbol=s,
                qty=p.qty,
                avg_price=p.avg_price,
                last_price=self.marks.get(s, p.avg_price),
                unrealized_pnl=p.qty * (self.marks.get(s, p.avg_price) - p.avg_price),
                realized_pnl=p.realized,
            )
            for s, p in sorted(self.positions.items())
        ]

    # -- writes ----------------------------------------------------------------------------
    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price

    def apply_fill(self, fill: Fill) -> TradeRecord | None:
        """Book a fill; returns the round trip when the position returns to flat."""
        signed = fill.qty * fill.side.sign
        # Cash is kept on a micro-dollar grid: each fill's amount is a short decimal (4-decimal
        # prices x shares, fees), so the rounded sum is the same double whatever order the fills of
        # different symbols are booked in (bars take symbols one after another, prints interleave).
        self.cash = round(self.cash - (signed * fill.price + fill.fee), 6)
        self.fees_paid += fill.fee
        self.realized_pnl -= fill.fee
        self.n_fills += 1
        self.marks[fill.symbol] = fill.price
        pos = self.positions.get(fill.symbol)
        if pos is None:
            self.positions[fill.symbol] = _Position(
                symbol=fill.symbol,
                qty=signed,
                avg_price=fill.price,
                entry_time=fill.ts,
                entry_qty=fill.qty,
                entry_cost=fill.price * fill.qty,
                fees=fill.fee,
                strategy=fill.strategy,
            )
            return None
        pos.fees += fill.fee
        if (pos.qty > 0) == (signed > 0):  # adding to the position
            new_qty = pos.qty + signed
            pos.avg_price = (pos.avg_price * abs(pos.qty) + fill.price * fill.qty) / abs(new_qty)
            pos.qty = new_qty
            pos.entry_qty += fill.qty
            pos.entry_cost += fill.price * fill.qty
            return None
        closing = min(fill.qty, abs(pos.qty))
        direction = 1 if pos.qty > 0 else -1
        pnl = closing * (fill.price - pos.avg_price) * direction
        pos.realized += pnl
        self.realized_pnl += pnl
        pos.exit_qty += closing
        pos.exit_value += closing * fill.price
        pos.qty += signed if abs(signed) <= abs(pos.qty) else -pos.qty
        if pos.qty != 0:
            return None
        del self.positions[fill.symbol]
        record = TradeRecord(
            symbol=fill.symbol,
            side=Side.BUY if direction > 0 else Side.SELL,
            qty=pos.exit_qty,
            entry_time=pos.entry_time,
            entry_price=round(pos.entry_cost / pos.entry_qty, 6),  # exact for cent/4-decimal fills
            exit_time=fill.ts,
            exit_price=round(pos.exit_value / pos.exit_qty, 6),
            pnl=pos.realized - pos.fees,
            fees=pos.fees,
            exit_reason=EXIT_REASONS.get(fill.tag, ExitReason.CLOSE_ALL),
            strategy=pos.strategy,
        )
        remainder = fill.qty - closing
        if remainder:  # a reversal opens a new round trip with the rest
            self.positions[fill.symbol] = _Position(
                symbol=fill.symbol,
                qty=remainder * fill.side.sign,
                avg_price=fill.price,
                entry_time=fill.ts,
                entry_qty=remainder,
                entry_cost=fill.price * remainder,
                strategy=fill.strategy,
            )
        return record

    def snapshot(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Portfolio:
        positions = {k: _Position(**v) for k, v in data["positions"].items()}
        return cls(**{**data, "positions": positions, "marks": dict(data["marks"])})
