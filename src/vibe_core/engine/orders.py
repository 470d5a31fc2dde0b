"""The order flow of the engine: signal -> validation -> risk -> order -> venue or broker -> fills.

State: the engine's working entries (``pending``), order counter, and the simulated venue or
the external broker's book (:class:`~vibe_core.engine.state.EngineState`).
Consumes: signals (:func:`on_signal`, behind the feed gate), the venue's records or the broker's events
(:func:`book_records`, :func:`on_broker_event`), flatten and halt requests.
Emits: ``SignalEvaluated``, the venue's order records (or ``SubmitOrder``/``CancelOrder`` for an
external broker), ``TradeClosed``, ``RiskHalted`` and ``Notify``.
Invariants: one working entry per symbol; an entry never reserves more cash than is free (without
margin); every fill reaches the portfolio exactly once; ids are ``SYMBOL-YYYYMMDD-n``.
"""

from __future__ import annotations

from vibe_core.actions import (
    Action,
    CancelOrder,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.engine.book import BrokerEvent
from vibe_core.engine.state import EngineState, PendingEntry
from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order, Signal
from vibe_core.risk import Exposure, size_entry
from vibe_core.sim.venue import VenueRecord
from vibe_core.types import OrderType, Severity, Side

__all__ = ["on_signal", "flatten_all", "check_halt", "book_records", "on_broker_event"]


def _next_order_id(state: EngineState, symbol: str) -> str:
    state.order_seq += 1
    return f"{symbol}-{state.day}-{state.order_seq}"


def _reserved(state: EngineState, but: str = "") -> float:
    """Cash reserved by working entries (except ``but``'s)."""
    total = 0.0
    for symbol, entry in state.pending.items():
        if symbol != but:
            total += entry.reserved
    return total


def _exposure(state: EngineState) -> Exposure:
    portfolio = state.portfolio
    reserved = _reserved(state)
    open_symbols = portfolio.positions.keys() | state.pending.keys()
    return Exposure(
        equity=portfolio.equity(),
        cash=portfolio.cash - reserved,
        gross=portfolio.gross_exposure() + reserved,
        open_positions=len(open_symbols),
    )


def on_signal(state: EngineState, signal: Signal, now: int) -> list[Action]:
    """The feed gate and validation, then risk sizing, then the entry order (a bracket) of an
    accepted signal. The gate's vetoes (a stale symbol, the feed down, an incomplete opening range)
    come first among the reasons; it says nothing when it passes."""
    reasons, vetoes = state.validator.evaluate(signal, state.indicators)
    gated = state.feed.vetoes(signal.symbol, now, state.strategy)
    if gated:
        reasons, vetoes = (*gated, *reasons), (*gated, *vetoes)
    if not vetoes and signal.symbol in state.pending:
        vetoes = ("risk: an entry is already working",)
        reasons = (*reasons, *vetoes)
    if vetoes:
        return [SignalEvaluated(signal=signal, accepted=False, qty=0, reasons=reasons, vetoes=vetoes)]
    exposure = _exposure(state)
    qty, why = size_entry(signal, state.risk, exposure, state.config.risk)
    reasons = (*reasons, why)
    if qty <= 0:
        return [SignalEvaluated(signal=signal, accepted=False, qty=qty, reasons=reasons, vetoes=(why,))]
    order = Order(
        id=_next_order_id(state, signal.symbol),
        symbol=signal.symbol,
        side=signal.side,
        qty=qty,
        type=OrderType.MARKET,
        ts=now,
        stop_loss=signal.stop,
        take_profit=signal.target,
        tag="entry",
        strategy=signal.strategy,
        max_notional=None
        if state.config.risk.allow_margin or signal.side is Side.SELL
        else max(exposure.cash, 0.0),
    )
    state.pending[signal.symbol] = PendingEntry(
        order_id=order.id, reserved=qty * signal.price, price=signal.price
    )
    state.strategy.on_entry(signal.symbol)
    actions: list[Action] = [
        SignalEvaluated(signal=signal, accepted=True, qty=qty, reasons=reasons, vetoes=())
    ]
    actions += _submit(state, order)
    return actions


def _submit(state: EngineState, order: Order) -> list[Action]:
    venue = state.venue
    if venue is None:
        assert state.book is not None
        state.book.add(order)
        return [SubmitOrder(order=order)]
    portfolio = state.portfolio
    records = venue.submit(
        order,
        cash=portfolio.cash - _reserved(state, but=order.symbol),
        position=portfolio.position_qty(order.symbol),
        paused=state.risk.paused and order.tag == "entry",
        allow_margin=state.config.risk.allow_margin,
    )
    return book_records(state, records)


def _cancel(state: EngineState, order_id: str, ts: int, reason: str) -> list[Action]:
    venue = state.venue
    if venue is None:  # the broker's OrderCancelled books it
        return [CancelOrder(ts=ts, order_id=order_id, reason=reason)]
    return book_records(state, venue.cancel(order_id, ts, reason))


def flatten_all(state: EngineState, ts: int, reason: str) -> list[Action]:
    """Cancel every working order (bracket legs included), then a market order against every position."""
    actions: list[Action] = []
    if state.venue is not None:
        working = state.venue.open_orders()
    else:
        assert state.book is not None
        working = state.book.working()
    for order in working:
        actions += _cancel(state, order.id, ts, reason)
    state.pending.clear()
    for symbol, position in sorted(state.portfolio.positions.items()):
        if position.qty == 0:
            continue
        order = Order(
            id=_next_order_id(state, symbol),
            symbol=symbol,
            side=Side.SELL if position.qty > 0 else Side.BUY,
            qty=abs(position.qty),
            type=OrderType.MARKET,
            ts=ts,
            tag=reason,
            strategy=position.strategy,  # (the strategy whose entry opened it)
        )
        actions += _submit(state, order)
    return actions


def check_halt(state: EngineState, ts: int) -> list[Action]:
    """The daily loss halt, when equity breaches it: report, cancel working entries, flatten if asked."""
    portfolio, risk = state.portfolio, state.risk
    risk.fills_checked = portfolio.n_fills
    if not risk.check_halt(portfolio.equity()):
        return []
    equity = state.portfolio.equity()
    start = state.risk.session_start_equity
    reason = f"daily loss {1 - equity / start:.2%} >= {state.config.risk.daily_loss_halt_pct:.2%}"
    actions: list[Action] = [
        RiskHalted(ts=ts, reason=reason, session_start_equity=start, equity=equity),
        Notify(ts=ts, severity=Severity.CRITICAL, title="Daily loss halt", fields=(("reason", reason),)),
    ]
    for symbol, entry in list(state.pending.items()):
        actions += _cancel(state, entry.order_id, ts, "halt")
        state.pending.pop(symbol, None)
    if state.config.risk.flatten_on_halt:
        actions += flatten_all(state, ts, "halt")
    return actions


# -- order records: the simulated venue's, or the external broker's events ----------------------


def book_records(state: EngineState, records: list[VenueRecord]) -> list[Action]:
    """The venue's records, each followed by what it causes (fills reach the portfolio)."""
    actions: list[Action] = []
    for record in records:
        actions.append(record)
        if isinstance(record, Filled):
            actions += _on_fill(state, record.fill)
        elif not isinstance(record, OrderAccepted):  # (an acceptance causes nothing)
            actions += _on_order_event(state, record)
    return actions


def on_broker_event(state: EngineState, event: BrokerEvent) -> list[Action]:
    """An external broker's event, already checked against the book at the door."""
    assert state.book is not None
    state.book.apply(event)
    if isinstance(event, Filled):
        return _on_fill(state, event.fill)
    return _on_order_event(state, event)


def _on_order_event(
    state: EngineState, event: OrderAccepted | OrderRejected | OrderCancelled
) -> list[Action]:
    if isinstance(event, OrderAccepted):
        return []
    for symbol, entry in list(state.pending.items()):
        if entry.order_id == event.order_id:
            del state.pending[symbol]
    if isinstance(event, OrderRejected):
        return [
            Notify(
                ts=event.ts,
                severity=Severity.WARNING,
                title=f"Order rejected: {event.symbol}",
                fields=(("order", event.order_id), ("reason", event.reason)),
            )
        ]
    return []


def _on_fill(state: EngineState, fill: Fill) -> list[Action]:
    entry = state.pending.get(fill.symbol)
    if entry is not None and entry.order_id == fill.order_id:
        entry.reserved -= fill.qty * entry.price
        if entry.reserved <= 1e-9:
            del state.pending[fill.symbol]
    record = state.portfolio.apply_fill(fill)
    if record is None:
        return []
    return [
        TradeClosed(trade=record),
        Notify(
            ts=fill.ts,
            severity=Severity.INFO,
            title=f"{record.symbol} closed ({record.exit_reason.value})",
            fields=(("qty", str(record.qty)), ("pnl", f"{record.pnl:.2f}")),
        ),
    ]
