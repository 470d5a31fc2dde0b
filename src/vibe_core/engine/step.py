"""The step: one event through the stages of DESIGN §3, in order.

State: :class:`~vibe_core.engine.state.EngineState`, updated in place and returned (a copy per
event would cost more than the whole step; :func:`~vibe_core.engine.persist.save_state` /
:func:`~vibe_core.engine.persist.load_state` give an independent copy).
Consumes: every :data:`~vibe_core.events.Event`.
Emits: :data:`~vibe_core.actions.Action` s: order records, closed trades, evaluated signals, halts,
notifications, ``EventRejected``; ``SubmitOrder``/``CancelOrder`` only when an external broker
executes.
Invariants: an event refused at the door changes nothing but the rejection counter; the stages
run in this order for an event at time t, the same in backtest and live:

1. door: the event is checked against the state (:mod:`~vibe_core.engine.door`);
2. due time, bars first: bars that end by t close (bar mode: the input bars of an earlier time;
   live mode: the bars the print or clock completes) and feed the indicators and the validator;
   the daily loss halt is checked on their closing marks; the strategy reacts to them: each signal
   -> validation -> risk -> entry order -> venue or broker;
3. due time, the session's work: a new session opens, the flatten and the close happen
   (:func:`~vibe_core.engine.session.due_time`);
4. market data matched: the venue matches the bars' four points, or the print, against working
   orders; fills -> portfolio; then the feed gate notes the data's time (a gap it ends is
   recorded; the decisions above saw only older data, in both modes). In live mode a market
   order placed on a close fills at that very print; in bar mode a bar closes at the first event
   after it, so orders placed on its close meet the next bar. Both shells thus see the same
   closes, halts and fills at the same instants.
"""

from __future__ import annotations

from typing import assert_never

from vibe_core.actions import Action, EventRejected, Notify
from vibe_core.engine.door import check
from vibe_core.engine.orders import book_records, check_halt, flatten_all, on_broker_event, on_signal
from vibe_core.engine.session import due_time
from vibe_core.engine.state import PRIMARY, EngineState
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.types import Severity, Timeframe

__all__ = ["step"]

_TF_NS = {tf: tf.ns for tf in Timeframe}


def step(state: EngineState, event: Event) -> tuple[EngineState, list[Action]]:
    """Apply one event; returns the (same, updated) state and the actions it caused."""
    refusal = check(state, event)
    if refusal is not None:
        return state, [_refuse(state, event, *refusal)]
    actions: list[Action]
    match event:
        case BarSlice():
            actions = _on_bars(state, event.bars, event.ts) if event.bars else []
        case Bar():
            actions = _on_bars(state, (event,), event.ts)
        case Trade():
            actions = _on_trade(state, event)
        case Clock():
            actions = _on_clock(state, event.ts)
        case OrderAccepted() | OrderRejected() | OrderCancelled() | Filled():
            actions = on_broker_event(state, event)
        case Pause():
            state.risk.paused = True
            actions = [
                Notify(
                    ts=event.ts,
                    severity=Severity.WARNING,
                    title="Trading paused",
                    fields=(("reason", event.reason),),
                )
            ]
        case Resume():
            state.risk.paused = False
            actions = [Notify(ts=event.ts, severity=Severity.INFO, title="Trading resumed")]
        case CloseAll():
            actions = due_time(state, event.ts)
            actions += flatten_all(state, event.ts, "close_all")
            actions.append(
                Notify(
                    ts=event.ts,
                    severity=Severity.WARNING,
                    title="Close all",
                    fields=(("reason", event.reason),),
                )
            )
        case FeedStatus():
            state.feed.on_status(event)  # (the gate reads it at the next entry and the next data)
            actions = []
        case _:
            assert_never(event)
    return state, actions


def _refuse(state: EngineState, event: Event, reason: str, detail: str) -> EventRejected:
    state.rejected[reason] = state.rejected.get(reason, 0) + 1
    return EventRejected(ts=event.ts, event=event, reason=reason, detail=detail)


# -- one function per kind of input: the stages in order -----------------------------------------


def _on_bars(state: EngineState, bars: tuple[Bar, ...], ts: int) -> list[Action]:
    """Complete bars opening at ``ts``: matched now; they close at the first event of a later time.

    Bars of several symbols share a timestamp (one ``BarSlice`` or consecutive ``Bar`` events);
    all are matched before any closes, as prints are matched before the bars they complete close.
    """
    deferred = state.deferred
    actions = _close_deferred(state, ts) if deferred and ts > deferred[0].ts else []  # due time
    if ts >= state.wake:
        actions += due_time(state, ts)
    elif ts > state.now:
        state.now = ts
    actions += _match_bars(state, bars)  # market data matched
    deferred.extend(bars)  # bars closed: at the next event of a later time
    return actions


def _on_trade(state: EngineState, trade: Trade) -> list[Action]:
    ts = trade.ts
    actions = _close_deferred(state, ts) if state.deferred else []  # due time: bars close first,
    closed = state.bars.on_trade(trade)  # (the print is folded into its own, still forming, bar)
    if closed:
        actions += _on_closed_bars(state, closed, ts, seen=False)
    if ts >= state.wake:  # then the session's own work (open, flatten, close)
        actions += due_time(state, ts)
    elif ts > state.now:
        state.now = ts
    actions += _match_trade(state, trade)  # market data matched
    return actions


def _on_clock(state: EngineState, ts: int) -> list[Action]:
    deferred = state.deferred
    actions = _close_deferred(state, ts) if deferred and ts >= _deferred_end(state) else []
    closed = state.bars.on_clock(ts)  # bars close before the session's work, as in bar mode
    if closed:
        actions += _on_closed_bars(state, closed, ts, seen=False)
    actions += due_time(state, ts)
    return actions


def _deferred_end(state: EngineState) -> int:
    """When the deferred input bars are complete: the earliest end among them."""
    return min(bar.ts + _TF_NS[bar.timeframe] for bar in state.deferred)


# -- the stages ----------------------------------------------------------------------------------


def _close_deferred(state: EngineState, now: int) -> list[Action]:
    """Due time, bar mode: the deferred input bars close (they all end at or before ``now``)."""
    closed = state.bars.on_slice(state.deferred[0].ts, state.deferred)
    state.deferred.clear()
    return _on_closed_bars(state, closed, now, seen=True) if closed else []


def _match_bars(state: EngineState, bars: tuple[Bar, ...]) -> list[Action]:
    """Market data matched, bar mode: the bars' four points each, then their records are booked."""
    records = None if state.venue is None else state.venue.on_bars(bars)
    actions = book_records(state, records) if records else []
    if state.session_index >= 0 and not state.session_closed:
        marks = state.portfolio.marks
        for bar in bars:
            marks[bar.symbol] = bar.close
    gaps = state.feed.on_bars(bars)  # (after the decisions of this instant: their data is older)
    if gaps:
        actions += gaps
    return actions


def _match_trade(state: EngineState, trade: Trade) -> list[Action]:
    """Market data matched, live mode: one print, then the symbol's mark."""
    actions: list[Action] = []
    if state.venue is not None:
        records = state.venue.on_trade(trade)
        if records:
            actions = book_records(state, records)
    if state.session_index >= 0 and not state.session_closed:
        state.portfolio.marks[trade.symbol] = trade.price
    gap = state.feed.on_print(trade.symbol, trade.ts)
    if gap is not None:
        actions.append(gap)
    return actions


def _on_closed_bars(state: EngineState, closed: list[Bar], now: int, *, seen: bool) -> list[Action]:
    """Bars closed: indicators and validator first, then the strategy reacts (signals -> orders).

    ``seen``: bar mode, whose matching already marked the symbols at these bars' closes;
    otherwise (bars built from prints) the closes become the marks here.
    """
    if now > state.now:
        state.now = now
    bank = state.indicators
    if bank.specs:
        bank.on_bars(closed)
    validator = state.validator
    if validator.config.enabled:
        validator.on_bars(closed)
    if state.venue is not None:
        state.venue.observe_bars(closed)  # (a closed bar's range: the volatility term of slippage)
    if not seen:  # (bar mode marked the bars when it matched them)
        marks = state.portfolio.marks
        for b in closed:
            if b.timeframe is PRIMARY:
                marks[b.symbol] = b.close
    # the daily loss halt is checked on closing marks, the same instants in both shells; while flat
    # with no fill since the last check, equity is the cash that check saw
    portfolio = state.portfolio
    if portfolio.positions or portfolio.n_fills != state.risk.fills_checked:
        return check_halt(state, now) + _strategy(state, closed, now)
    return _strategy(state, closed, now)


def _strategy(state: EngineState, closed: list[Bar], now: int) -> list[Action]:
    """The strategy reacts to the closed bars; each signal goes through validation, risk and orders."""
    actions: list[Action] = []
    # each signal's entry is placed before the strategy goes on (a generator resumes after it)
    for signal in state.strategy.on_bars(closed, state.indicators, state.portfolio.position_qty):
        actions += on_signal(state, signal, now)
    return actions
