"""Hypothesis strategies for every event (market data, broker, commands) and every action.

State: none: functions returning hypothesis strategies.
Consumes: hypothesis draws, the value strategies of :mod:`~vibe_core.testing.strategies.values`.
Emits: events and actions; every event may carry ``ts_recv`` (``None`` or a little after ``ts``).
Invariants: every event drawn passes its field checks (bars: ``low <= open, close <= high``, on
the timeframe grid); the union strategies cover every member of ``Event`` and ``Action``.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from vibe_core.actions import (
    Action,
    CancelOrder,
    EventRejected,
    FeedGap,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
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
from vibe_core.testing.strategies.values import (
    _ts_recv,
    fills,
    order_ids,
    orders,
    prices,
    quantities,
    reasons,
    signals,
    symbols,
    timeframes,
    timestamps,
    trade_records,
    volumes,
)
from vibe_core.types import (
    Severity,
    Timeframe,
)

__all__ = [
    "trades",
    "bars",
    "bar_slices",
    "clocks",
    "order_accepted",
    "order_rejected",
    "filled",
    "order_cancelled",
    "pauses",
    "resumes",
    "close_alls",
    "feed_statuses",
    "market_events",
    "events",
    "submit_orders",
    "cancel_orders",
    "notifies",
    "trade_closed",
    "signal_evaluated",
    "risk_halted",
    "event_rejected",
    "feed_gaps",
    "actions",
]

# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------


@st.composite
def trades(draw: st.DrawFn, symbol: str | None = None) -> Trade:
    ts = draw(timestamps())
    return Trade(
        symbol=symbol if symbol is not None else draw(symbols()),
        ts=ts,
        price=draw(prices()),
        size=draw(st.floats(min_value=1.0, max_value=1e6, allow_nan=False)),
        ts_recv=draw(_ts_recv(ts)),
    )


@st.composite
def bars(
    draw: st.DrawFn,
    symbol: str | None = None,
    timeframe: Timeframe | None = None,
    *,
    cents: bool = False,
) -> Bar:
    """Consistent bars: ``low <= open, close <= high``, non-negative volume, stamped on the timeframe grid."""
    tf = timeframe if timeframe is not None else draw(timeframes())
    a, b = draw(prices(cents=cents)), draw(prices(cents=cents))
    low, high = min(a, b), max(a, b)
    inside = st.floats(min_value=low, max_value=high, allow_nan=False)
    if cents:
        inside = inside.map(lambda p: min(max(round(p, 2), low), high))
    ts = draw(timestamps()) // tf.ns * tf.ns
    return Bar(
        symbol=symbol if symbol is not None else draw(symbols()),
        timeframe=tf,
        ts=ts,
        open=draw(inside),
        high=high,
        low=low,
        close=draw(inside),
        volume=draw(volumes()),
        source=draw(st.sampled_from(("", "yahoo", "finnhub", "self", "test"))),
        ts_recv=draw(_ts_recv(ts + tf.ns)),
    )


@st.composite
def bar_slices(draw: st.DrawFn) -> BarSlice:
    """A few bars (any symbols) moved to one open time."""
    parts = draw(st.lists(bars(timeframe=Timeframe.M5), max_size=5))
    ts = draw(timestamps()) // Timeframe.M5.ns * Timeframe.M5.ns
    return BarSlice(ts=ts, bars=tuple(attrs.evolve(b, ts=ts) for b in parts), ts_recv=draw(_ts_recv(ts)))


# (every event may carry ts_recv: drawn for each, None or a little after ts)


@st.composite
def clocks(draw: st.DrawFn) -> Clock:
    ts = draw(timestamps())
    return Clock(ts=ts, ts_recv=draw(_ts_recv(ts)))


@st.composite
def order_accepted(draw: st.DrawFn) -> OrderAccepted:
    order = draw(st.none() | orders())
    order_id = order.id if order is not None else draw(order_ids())
    ts = draw(timestamps())
    return OrderAccepted(ts=ts, order_id=order_id, order=order, ts_recv=draw(_ts_recv(ts)))


@st.composite
def order_rejected(draw: st.DrawFn) -> OrderRejected:
    sym = draw(symbols())
    ts = draw(timestamps())
    return OrderRejected(
        ts=ts, order_id=draw(order_ids(sym)), symbol=sym, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts))
    )


@st.composite
def filled(draw: st.DrawFn) -> Filled:
    fill = draw(fills())
    return Filled(ts=fill.ts, fill=fill, ts_recv=draw(_ts_recv(fill.ts)))


@st.composite
def order_cancelled(draw: st.DrawFn) -> OrderCancelled:
    ts = draw(timestamps())
    return OrderCancelled(
        ts=ts, order_id=draw(order_ids()), reason=draw(reasons()), ts_recv=draw(_ts_recv(ts))
    )


@st.composite
def pauses(draw: st.DrawFn) -> Pause:
    ts = draw(timestamps())
    return Pause(ts=ts, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts)))


@st.composite
def resumes(draw: st.DrawFn) -> Resume:
    ts = draw(timestamps())
    return Resume(ts=ts, ts_recv=draw(_ts_recv(ts)))


@st.composite
def close_alls(draw: st.DrawFn) -> CloseAll:
    ts = draw(timestamps())
    return CloseAll(ts=ts, reason=draw(reasons()), ts_recv=draw(_ts_recv(ts)))


@st.composite
def feed_statuses(draw: st.DrawFn) -> FeedStatus:
    ts = draw(timestamps())
    return FeedStatus(
        ts=ts, connected=draw(st.booleans()), reason=draw(reasons()), ts_recv=draw(_ts_recv(ts))
    )


def market_events() -> st.SearchStrategy[Trade | Bar]:
    return st.one_of(trades(), bars())


def events() -> st.SearchStrategy[Event]:
    """Any event of the closed union."""
    return st.one_of(
        trades(),
        bars(),
        bar_slices(),
        clocks(),
        order_accepted(),
        order_rejected(),
        filled(),
        order_cancelled(),
        pauses(),
        resumes(),
        close_alls(),
        feed_statuses(),
    )


# ---------------------------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------------------------


def submit_orders() -> st.SearchStrategy[SubmitOrder]:
    return st.builds(SubmitOrder, order=orders())


def cancel_orders() -> st.SearchStrategy[CancelOrder]:
    return st.builds(CancelOrder, ts=timestamps(), order_id=order_ids(), reason=reasons())


def notifies() -> st.SearchStrategy[Notify]:
    field = st.tuples(st.text(max_size=12), st.text(max_size=24))
    return st.builds(
        Notify,
        ts=timestamps(),
        severity=st.sampled_from(Severity),
        title=st.text(max_size=40),
        fields=st.lists(field, max_size=4).map(tuple),
    )


def trade_closed() -> st.SearchStrategy[TradeClosed]:
    return st.builds(TradeClosed, trade=trade_records())


@st.composite
def signal_evaluated(draw: st.DrawFn) -> SignalEvaluated:
    accepted = draw(st.booleans())
    return SignalEvaluated(
        signal=draw(signals()),
        accepted=accepted,
        qty=draw(quantities()) if accepted else 0,
        reasons=tuple(draw(st.lists(reasons(), max_size=3))),
    )


@st.composite
def risk_halted(draw: st.DrawFn) -> RiskHalted:
    start = draw(prices(100.0, 1e7))
    return RiskHalted(
        ts=draw(timestamps()),
        reason=draw(reasons()),
        session_start_equity=start,
        equity=draw(st.floats(min_value=0.0, max_value=start, allow_nan=False)),
    )


def event_rejected() -> st.SearchStrategy[EventRejected]:
    return st.builds(EventRejected, ts=timestamps(), event=events(), reason=reasons(), detail=reasons())


@st.composite
def feed_gaps(draw: st.DrawFn) -> FeedGap:
    start = draw(timestamps())
    end = draw(st.integers(start, start + 86_400 * 10**9))
    symbol = draw(st.sampled_from(("*",)) | symbols())
    return FeedGap(symbol=symbol, start=start, end=end, reason=draw(reasons()))


def actions() -> st.SearchStrategy[Action]:
    """Any action of the closed union."""
    return st.one_of(
        submit_orders(),
        cancel_orders(),
        notifies(),
        trade_closed(),
        signal_evaluated(),
        risk_halted(),
        event_rejected(),
        feed_gaps(),
        order_accepted(),
        order_rejected(),
        filled(),
        order_cancelled(),
    )
