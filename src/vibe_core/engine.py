"""The engine: one ``step(state, event) -> (state, actions)`` composing every reducer.

State: :class:`EngineState`: the bar aggregator, indicator bank, simulated venue (or none, for an
external broker), portfolio, risk, strategy and validator, plus the session bookkeeping.
Consumes: every :data:`~vibe_core.events.Event`.
Emits: :data:`~vibe_core.actions.Action` s: order records, closed trades, evaluated signals, halts,
notifications; ``SubmitOrder``/``CancelOrder`` only when an external broker executes.

Order of work for an event at time t (the same in backtest and live, DESIGN §3):

1. due time: a new session opens (risk, strategy and session indicators reset); at or after the
   flatten time every position gets a market order; at or after the close DAY orders expire;
2. market data: the venue matches the print, or the bar's four points, against working orders;
   fills -> portfolio -> risk (daily loss halt);
3. bars: bars that closed by t feed the indicators and the validator first, then the strategy
   reacts to each closed primary bar: signal -> validation -> risk sizing -> entry order (a
   bracket: stop and target are linked one-cancels-other at the venue). In live mode (prints) the
   closed bars react before the print is matched, so a market order placed on a close fills at
   that very print; in bar mode the bar's points are matched before it closes, so orders placed on
   its close meet the next bar.

The state is owned: ``step`` updates it in place and returns it (a copy per event would cost more
than the whole step). Callers that need an independent copy use :func:`save_state` /
:func:`load_state`, which round-trip exactly.
"""

from __future__ import annotations

from typing import Any, assert_never

import attrs

from vibe_core.actions import (
    Action,
    CancelOrder,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.bars import BarAggregator
from vibe_core.calendar import Session, SessionTable
from vibe_core.codec import structure, unstructure
from vibe_core.config import Config, config_from_dict, config_to_dict
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.models import Fill, Order, Signal
from vibe_core.portfolio import Portfolio
from vibe_core.risk import Exposure, RiskState, size_entry
from vibe_core.sim.venue import Venue
from vibe_core.strategy import Strategy, create, restore_strategy
from vibe_core.types import BUY, MARKET, NS_PER_MINUTE, SELL, Severity, Timeframe
from vibe_core.validation import Validator

__all__ = ["EngineState", "new_state", "step", "save_state", "load_state", "PRIMARY"]

PRIMARY = Timeframe.M5
TIMEFRAMES = (Timeframe.M5, Timeframe.M15, Timeframe.H1)
_TF_NS = {tf: tf.ns for tf in Timeframe}


@attrs.define
class PendingEntry:
    """A working entry order and the cash it has reserved."""

    order_id: str
    reserved: float
    price: float


@attrs.define
class EngineState:
    config: Config
    sessions: SessionTable
    bars: BarAggregator
    indicators: IndicatorBank
    venue: Venue | None
    portfolio: Portfolio
    risk: RiskState
    strategy: Strategy
    validator: Validator
    session_index: int = -1  #: index in ``sessions`` of the current (or last) session
    session_closed: bool = True  #: the current session's close has been processed
    flattened: bool = False  #: the end-of-day flatten ran this session
    day: str = ""  #: current session date as YYYYMMDD, for order ids
    order_seq: int = 0  #: order counter of the current session
    now: int = 0  #: time of the latest event
    pending: dict[str, PendingEntry] = attrs.Factory(dict)  #: symbol -> working entry
    wake: int = 0  #: the next time at which session bookkeeping has work (flatten, close, open)
    deferred: list[Bar] = attrs.Factory(list)  #: input bars matched but not closed yet (same open time)

    @property
    def session(self) -> Session | None:
        return self.sessions.sessions[self.session_index] if self.session_index >= 0 else None


def _indicator_specs(strategy: Strategy, validator: Validator) -> list[IndicatorSpec]:
    specs: dict[str, IndicatorSpec] = {}
    for spec in [*strategy.required_indicators(), *validator.required_indicators()]:
        specs.setdefault(spec.key, spec)
    return list(specs.values())


def _timeframes(specs: list[IndicatorSpec], validator: Validator) -> tuple[Timeframe, ...]:
    """The primary timeframe plus only the higher ones something reads (aggregation is not free)."""
    needed = {PRIMARY, *(spec.timeframe for spec in specs)}
    if validator.config.enabled:
        needed.add(Timeframe.H1)  # swing points and the last 1h close
    return tuple(tf for tf in TIMEFRAMES if tf in needed)


def new_state(config: Config, sessions: SessionTable, *, external_broker: bool = False) -> EngineState:
    """A fresh engine for ``config`` over ``sessions`` (built once by the shell)."""
    strategy = create(config)
    validator = Validator.from_config(config.validation)
    symbols = tuple(config.symbols)
    venue = None
    if not external_broker:
        venue = Venue(
            model=config.exchange.fill_model(),
            seed=config.seed,
            symbols=frozenset(symbols),
            sessions=sessions,
        )
    specs = _indicator_specs(strategy, validator)
    return EngineState(
        config=config,
        sessions=sessions,
        bars=BarAggregator(sessions=sessions, timeframes=_timeframes(specs, validator)),
        indicators=IndicatorBank(specs, window=config.indicator_window),
        venue=venue,
        portfolio=Portfolio.new(config.initial_capital),
        risk=RiskState(session_start_equity=config.initial_capital),
        strategy=strategy,
        validator=validator,
    )


# ---------------------------------------------------------------------------------------------
# the step
# ---------------------------------------------------------------------------------------------


def step(state: EngineState, event: Event) -> tuple[EngineState, list[Action]]:
    """Apply one event; returns the (same, updated) state and the actions it caused."""
    out: list[Action] = []
    match event:
        case BarSlice():
            if event.bars:
                _on_bars(state, event.bars, event.ts, out)
        case Bar():
            _on_bars(state, (event,), event.ts, out)
        case Trade():
            _on_trade(state, event, out)
        case Clock():
            if state.deferred:
                _flush(state, event.ts, out)
            _advance(state, event.ts, out)
            _on_closed_bars(state, state.bars.on_clock(event.ts), event.ts, out, seen=False)
        case Filled():
            if state.venue is not None:
                raise ValueError(
                    f"fill for {event.fill.order_id} from outside while the simulated venue executes"
                )
            _on_fill(state, event.fill, out)
        case OrderAccepted() | OrderRejected() | OrderCancelled():
            if state.venue is not None:
                raise ValueError(
                    f"order event for {event.order_id} from outside while the simulated venue executes"
                )
            _on_order_event(state, event, out)
        case Pause():
            state.risk.paused = True
            out.append(
                Notify(
                    ts=event.ts,
                    severity=Severity.WARNING,
                    title="Trading paused",
                    fields=(("reason", event.reason),),
                )
            )
        case Resume():
            state.risk.paused = False
            out.append(Notify(ts=event.ts, severity=Severity.INFO, title="Trading resumed"))
        case CloseAll():
            _advance(state, event.ts, out)
            _flatten_all(state, event.ts, "close_all", out)
            out.append(
                Notify(
                    ts=event.ts,
                    severity=Severity.WARNING,
                    title="Close all",
                    fields=(("reason", event.reason),),
                )
            )
        case _:
            assert_never(event)
    return state, out


def _on_bars(state: EngineState, bars: tuple[Bar, ...], ts: int, out: list[Action]) -> None:
    """Complete bars opening at ``ts``: their points are matched now; they close when time moves on.

    Bars of several symbols share a timestamp (in one ``BarSlice`` or as consecutive ``Bar``
    events); all of them are matched before any of them closes and the strategy reacts (at the
    first event with a later time), exactly as prints are matched before the bars they complete
    close in live mode.
    """
    deferred = state.deferred
    if deferred and ts > deferred[0].ts:
        _flush(state, ts, out)
    if ts >= state.wake:
        _advance(state, ts, out)
    portfolio = state.portfolio
    marks = portfolio.marks
    in_session = state.session_index >= 0 and not state.session_closed  # (fills don't change it)
    if state.venue is None:  # an external broker: the bars only mark the positions
        if in_session:
            for bar in bars:
                marks[bar.symbol] = bar.close
        deferred.extend(bars)
        return
    match = state.venue.on_bars
    done, n = 0, len(bars)
    while done < n:  # matching stops after each bar with records: they are booked before the next
        start = done
        done, records = match(bars, start)
        n_fills = portfolio.n_fills
        if records:
            _on_venue_records(state, records, out)
        if in_session:  # (after the records: a fill marks its symbol at the fill price)
            for bar in bars[start:done] if start or done < n else bars:
                marks[bar.symbol] = bar.close
        if portfolio.n_fills != n_fills:  # marks alone are checked once per timestamp, in _flush
            bar = bars[done - 1]
            _check_halt(state, bar.ts + _TF_NS[bar.timeframe], out)
    deferred.extend(bars)


def _flush(state: EngineState, now: int, out: list[Action]) -> None:
    """Close the deferred input bars: they all end at or before ``now``."""
    if state.portfolio.positions:  # (their marks moved)
        _check_halt(state, now, out)
    closed = state.bars.on_slice(state.deferred[0].ts, state.deferred)
    state.deferred.clear()
    if closed:
        _on_closed_bars(state, closed, now, out, seen=True)


def _on_trade(state: EngineState, trade: Trade, out: list[Action]) -> None:
    if state.deferred:
        _flush(state, trade.ts, out)
    if trade.ts >= state.wake:
        _advance(state, trade.ts, out)
    n_fills = state.portfolio.n_fills
    closed = state.bars.on_trade(trade)
    if closed:
        _on_closed_bars(state, closed, trade.ts, out, seen=False)
    venue = state.venue
    if venue is not None:
        records = venue.on_trade(trade)
        if records:
            _on_venue_records(state, records, out)
    portfolio = state.portfolio
    if state.session_index >= 0 and not state.session_closed:
        portfolio.marks[trade.symbol] = trade.price
    if portfolio.positions or portfolio.n_fills != n_fills:
        _check_halt(state, trade.ts, out)


def _on_closed_bars(
    state: EngineState, closed: list[Bar], now: int, out: list[Action], *, seen: bool
) -> None:
    """Closed bars feed indicators and the validator first, then the strategy reacts to primary bars.

    ``seen``: the venue has already matched these bars' ranges (bar mode: they are the input bars
    or folds of them); otherwise (built from prints) it is shown each primary bar's range.
    """
    if now > state.now:
        state.now = now
    bank = state.indicators
    if bank.specs:
        bank.on_bars(closed)
    validator = state.validator
    if validator.config.enabled:
        validator.on_bars(closed)
    if not seen:  # (bar mode marked the bars when it matched them)
        marks = state.portfolio.marks
        observe = None if state.venue is None else state.venue.observe_bar
        for b in closed:
            if b.timeframe is PRIMARY:
                if observe is not None:
                    observe(b)
                marks[b.symbol] = b.close
    react = state.strategy.on_bars
    position = state.portfolio.position_qty
    done, n = 0, len(closed)
    while done < n:  # the strategy stops at each signal: its entry is placed before the next bar
        done, signal = react(closed, done, bank, position)
        if signal is not None:
            _on_signal(state, signal, now, out)


# ---------------------------------------------------------------------------------------------
# time: sessions, flatten, close
# ---------------------------------------------------------------------------------------------


def _advance(state: EngineState, ts: int, out: list[Action]) -> None:
    """Session bookkeeping due by ``ts``: open a new session, flatten, close. Sets ``state.wake``."""
    if ts > state.now:
        state.now = ts
    flatten_ns = state.config.strategy.flatten_minutes_before_close * NS_PER_MINUTE
    session = state.session
    if session is not None and not state.session_closed:
        if not state.flattened and ts >= session.close - flatten_ns:
            state.flattened = True
            # a flatten first seen at or after the close is stamped at the session's last instant,
            # and its market orders then fill at the close (the venue's market-on-close fallback)
            _flatten_all(state, min(ts, session.close - 1), "eod", out)
        if ts >= session.close:
            _close_session(state, ts, out)
    if state.session_closed or session is None or ts >= session.close:
        index = state.sessions.index_at(ts)
        if index >= 0 and index != state.session_index:
            _open_session(state, index, out)
            session = state.session
            assert session is not None
            if ts >= session.close - flatten_ns:
                state.flattened = True
                _flatten_all(state, ts, "eod", out)
    state.wake = _next_wake(state, ts, flatten_ns)


def _next_wake(state: EngineState, ts: int, flatten_ns: int) -> int:
    session = state.session
    if session is not None and not state.session_closed:
        return session.close if state.flattened else session.close - flatten_ns
    upcoming = state.sessions.next_session(ts)
    return upcoming.open if upcoming is not None else 1 << 62


def _open_session(state: EngineState, index: int, out: list[Action]) -> None:
    session = state.sessions.sessions[index]
    state.session_index = index
    state.session_closed = False
    state.flattened = False
    state.day = session.date.strftime("%Y%m%d")
    state.order_seq = 0
    state.risk.on_session_open(state.portfolio.equity(), state.config.risk)
    for symbol in state.config.symbols:
        state.strategy.on_session_open(symbol, session)
        state.indicators.reset_session(symbol)


def _close_session(state: EngineState, ts: int, out: list[Action]) -> None:
    state.session_closed = True
    if state.venue is not None:
        records = state.venue.on_clock(ts)
        if records:
            _on_venue_records(state, records, out)
    state.pending.clear()


# ---------------------------------------------------------------------------------------------
# signals and orders
# ---------------------------------------------------------------------------------------------


def _next_order_id(state: EngineState, symbol: str) -> str:
    state.order_seq += 1
    return f"{symbol}-{state.day}-{state.order_seq}"


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


def _reserved(state: EngineState, but: str = "") -> float:
    """Cash reserved by working entries (except ``but``'s)."""
    total = 0.0
    for symbol, entry in state.pending.items():
        if symbol != but:
            total += entry.reserved
    return total


def _on_signal(state: EngineState, signal: Signal, now: int, out: list[Action]) -> None:
    reasons, vetoes = state.validator.evaluate(signal, state.indicators)
    if not vetoes and signal.symbol in state.pending:
        vetoes = ("risk: an entry is already working",)
        reasons = (*reasons, *vetoes)
    if vetoes:
        out.append(SignalEvaluated(signal=signal, accepted=False, qty=0, reasons=reasons, vetoes=vetoes))
        return
    exposure = _exposure(state)
    qty, why = size_entry(signal, state.risk, exposure, state.config.risk)
    reasons = (*reasons, why)
    if qty <= 0:
        out.append(SignalEvaluated(signal=signal, accepted=False, qty=qty, reasons=reasons, vetoes=(why,)))
        return
    out.append(SignalEvaluated(signal=signal, accepted=True, qty=qty, reasons=reasons, vetoes=()))
    order = Order(
        id=_next_order_id(state, signal.symbol),
        symbol=signal.symbol,
        side=signal.side,
        qty=qty,
        type=MARKET,
        ts=now,
        stop_loss=signal.stop,
        take_profit=signal.target,
        tag="entry",
        max_notional=None
        if state.config.risk.allow_margin or signal.side is SELL
        else max(exposure.cash, 0.0),
    )
    state.pending[signal.symbol] = PendingEntry(
        order_id=order.id, reserved=qty * signal.price, price=signal.price
    )
    state.strategy.on_entry(signal.symbol)
    _submit(state, order, out)


def _submit(state: EngineState, order: Order, out: list[Action]) -> None:
    venue = state.venue
    if venue is None:
        out.append(SubmitOrder(order=order))
        return
    portfolio = state.portfolio
    reserved_elsewhere = _reserved(state, but=order.symbol)
    records = venue.submit(
        order,
        cash=portfolio.cash - reserved_elsewhere,
        position=portfolio.position_qty(order.symbol),
        paused=state.risk.paused and order.tag == "entry",
        allow_margin=state.config.risk.allow_margin,
    )
    _on_venue_records(state, records, out)


def _cancel(state: EngineState, order_id: str, ts: int, reason: str, out: list[Action]) -> None:
    venue = state.venue
    if venue is None:
        out.append(CancelOrder(ts=ts, order_id=order_id, reason=reason))
        return
    _on_venue_records(state, venue.cancel(order_id, ts, reason), out)


def _flatten_all(state: EngineState, ts: int, reason: str, out: list[Action]) -> None:
    """Cancel every working order and send a market order against every position."""
    venue = state.venue
    if venue is not None:
        for order in venue.open_orders():
            _cancel(state, order.id, ts, reason, out)
    state.pending.clear()
    for symbol, position in sorted(state.portfolio.positions.items()):
        if position.qty == 0:
            continue
        order = Order(
            id=_next_order_id(state, symbol),
            symbol=symbol,
            side=SELL if position.qty > 0 else BUY,
            qty=abs(position.qty),
            type=MARKET,
            ts=ts,
            tag=reason,
        )
        _submit(state, order, out)


def _check_halt(state: EngineState, ts: int, out: list[Action]) -> None:
    if state.risk.check_halt(state.portfolio.equity()):
        _on_halt(state, ts, out)


def _on_halt(state: EngineState, ts: int, out: list[Action]) -> None:
    """The daily loss halt just fired: report it, cancel working entries, flatten if configured."""
    equity = state.portfolio.equity()
    start = state.risk.session_start_equity
    reason = f"daily loss {1 - equity / start:.2%} >= {state.config.risk.daily_loss_halt_pct:.2%}"
    out.append(RiskHalted(ts=ts, reason=reason, session_start_equity=start, equity=equity))
    out.append(
        Notify(ts=ts, severity=Severity.CRITICAL, title="Daily loss halt", fields=(("reason", reason),))
    )
    for symbol, entry in list(state.pending.items()):
        _cancel(state, entry.order_id, ts, "halt", out)
        state.pending.pop(symbol, None)
    if state.config.risk.flatten_on_halt:
        _flatten_all(state, ts, "halt", out)


# ---------------------------------------------------------------------------------------------
# order records
# ---------------------------------------------------------------------------------------------


def _on_venue_records(
    state: EngineState,
    records: list[OrderAccepted | OrderRejected | Filled | OrderCancelled],
    out: list[Action],
) -> None:
    for record in records:
        out.append(record)
        if isinstance(record, Filled):
            _on_fill(state, record.fill, out)
        else:
            _on_order_event(state, record, out)


def _on_order_event(
    state: EngineState, event: OrderAccepted | OrderRejected | OrderCancelled, out: list[Action]
) -> None:
    if isinstance(event, OrderAccepted):
        return
    for symbol, entry in list(state.pending.items()):
        if entry.order_id == event.order_id:
            del state.pending[symbol]
    if isinstance(event, OrderRejected):
        out.append(
            Notify(
                ts=event.ts,
                severity=Severity.WARNING,
                title=f"Order rejected: {event.symbol}",
                fields=(("order", event.order_id), ("reason", event.reason)),
            )
        )


def _on_fill(state: EngineState, fill: Fill, out: list[Action]) -> None:
    entry = state.pending.get(fill.symbol)
    if entry is not None and entry.order_id == fill.order_id:
        entry.reserved -= fill.qty * entry.price
        if entry.reserved <= 1e-9:
            del state.pending[fill.symbol]
    record = state.portfolio.apply_fill(fill)
    if record is not None:
        out.append(TradeClosed(trade=record))
        out.append(
            Notify(
                ts=fill.ts,
                severity=Severity.INFO,
                title=f"{record.symbol} closed ({record.exit_reason.value})",
                fields=(("qty", str(record.qty)), ("pnl", f"{record.pnl:.2f}")),
            )
        )


# ---------------------------------------------------------------------------------------------
# persistence of the whole state
# ---------------------------------------------------------------------------------------------


def save_state(state: EngineState) -> dict[str, Any]:
    """The whole engine state as JSON-safe data; :func:`load_state` restores it exactly."""
    return {
        "config": config_to_dict(state.config),
        "external_broker": state.venue is None,
        "bars": state.bars.snapshot(),
        "indicators": state.indicators.snapshot(),
        "venue": None if state.venue is None else state.venue.snapshot(),
        "portfolio": state.portfolio.snapshot(),
        "risk": state.risk.snapshot(),
        "strategy": state.strategy.snapshot(),
        "validator": state.validator.snapshot(),
        "session_index": state.session_index,
        "session_closed": state.session_closed,
        "flattened": state.flattened,
        "day": state.day,
        "order_seq": state.order_seq,
        "now": state.now,
        "pending": {s: attrs.asdict(p) for s, p in state.pending.items()},
        "wake": state.wake,
        "deferred": [unstructure(b) for b in state.deferred],
    }


def load_state(data: dict[str, Any], sessions: SessionTable) -> EngineState:
    config = config_from_dict(data["config"])
    venue = None
    if data["venue"] is not None:
        venue = Venue.restore(data["venue"], config.exchange.fill_model(), sessions)
    return EngineState(
        config=config,
        sessions=sessions,
        bars=BarAggregator.restore(data["bars"], sessions),
        indicators=IndicatorBank.restore(data["indicators"]),
        venue=venue,
        portfolio=Portfolio.restore(data["portfolio"]),
        risk=RiskState.restore(data["risk"]),
        strategy=restore_strategy(config, data["strategy"]),
        validator=Validator.restore(config.validation, data["validator"]),
        session_index=data["session_index"],
        session_closed=data["session_closed"],
        flattened=data["flattened"],
        day=data["day"],
        order_seq=data["order_seq"],
        now=data["now"],
        pending={s: PendingEntry(**p) for s, p in data["pending"].items()},
        wake=data["wake"],
        deferred=[structure(b, Bar) for b in data["deferred"]],
    )
