"""The backtest loop: turns bars into events, drives ``vibe_core.engine.step``, keeps the records.

Parity by construction: this module makes no trading decision. It merges the symbols' bars by
time into one ``BarSlice`` per open time, adds a ``Clock`` at every session close (so end-of-day
work happens exactly as in the live shell), and hands every action to the :class:`Recorder`.
Equity is sampled once per timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from vibe_core.actions import Action, FeedGap, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.calendar import SessionTable
from vibe_core.config import Config
from vibe_core.engine import EngineState, new_state, step
from vibe_core.events import Bar, BarSlice, Clock, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order, TradeRecord

__all__ = ["Recorder", "LoopResult", "run_loop"]


@attrs.define
class Recorder:
    """Everything the engine reported, in order, as plain lists (converted to frames at the end)."""

    orders: list[Order] = attrs.Factory(list)
    order_status: dict[str, str] = attrs.Factory(dict)
    rejections: list[OrderRejected] = attrs.Factory(list)
    fills: list[Fill] = attrs.Factory(list)
    trades: list[TradeRecord] = attrs.Factory(list)
    signals: list[SignalEvaluated] = attrs.Factory(list)
    halts: list[RiskHalted] = attrs.Factory(list)
    cancels: list[OrderCancelled] = attrs.Factory(list)
    gaps: list[FeedGap] = attrs.Factory(list)

    def record(self, actions: Iterable[Action]) -> None:
        for a in actions:
            if isinstance(a, Filled):
                self.fills.append(a.fill)
            elif isinstance(a, OrderAccepted):
                if a.order is not None:
                    self.orders.append(a.order)
                    self.order_status[a.order_id] = "accepted"
            elif isinstance(a, TradeClosed):
                self.trades.append(a.trade)
            elif isinstance(a, SignalEvaluated):
                self.signals.append(a)
            elif isinstance(a, OrderCancelled):
                self.cancels.append(a)
                self.order_status[a.order_id] = f"cancelled: {a.reason}"
            elif isinstance(a, OrderRejected):
                self.rejections.append(a)
                self.order_status[a.order_id] = f"rejected: {a.reason}"
            elif isinstance(a, RiskHalted):
                self.halts.append(a)
            elif isinstance(a, FeedGap):
                self.gaps.append(a)


@attrs.define
class LoopResult:
    state: EngineState
    recorder: Recorder
    equity_ts: list[int]
    equity_cash: list[float]
    equity_value: list[float]
    exposed: list[bool]
    daily_ts: list[int]
    daily_equity: list[float]
    bars_processed: int
    wall_seconds: float


def run_loop(
    bars: Iterable[Bar],
    config: Config,
    sessions: SessionTable,
    *,
    on_progress: Callable[[int], Any] | None = None,
    progress_every: int = 20_000,
    state: EngineState | None = None,
) -> LoopResult:
    """Drive the engine over time-ordered bars; a ``Clock`` at each session close.

    ``state``: carry on from this engine (changed in place) instead of a fresh one for ``config``;
    the live audit backtests each day from the session's own state at the day's start.
    """
    started = time.perf_counter()
    state = new_state(config, sessions) if state is None else state
    recorder = Recorder()
    record = recorder.record
    portfolio = state.portfolio
    eq_ts: list[int] = []
    eq_cash: list[float] = []
    eq_value: list[float] = []
    exposed: list[bool] = []
    daily_ts: list[int] = []
    daily_eq: list[float] = []
    close_at = -1  # close of the session the last bar belonged to
    last_ts = -1
    n = 0

    def sample(ts: int) -> None:
        if eq_ts and eq_ts[-1] == ts:  # a session's close falls on its last bar's end: keep one sample
            eq_cash[-1] = portfolio.cash
            eq_value[-1] = portfolio.equity()
            exposed[-1] = bool(portfolio.positions)
            return
        eq_ts.append(ts)
        eq_cash.append(portfolio.cash)
        eq_value.append(portfolio.equity())
        exposed.append(bool(portfolio.positions))

    def close_session(ts: int) -> None:
        _, actions = step(state, Clock(ts=ts))
        if actions:
            record(actions)
        sample(ts)
        daily_ts.append(ts)
        daily_eq.append(portfolio.equity())

    group: list[Bar] = []  # the bars opening at last_ts: one BarSlice event

    def step_group() -> None:
        """Send the group as one step, then sample equity at its end."""
        _, actions = step(state, BarSlice(ts=last_ts, bars=group))
        if actions:
            record(actions)
        sample(last_ts + group[-1].timeframe.ns)

    for bar in bars:
        ts = bar.ts
        if ts != last_ts:
            if group:
                step_group()
                group = []
            if ts >= close_at:
                if close_at >= 0:
                    close_session(close_at)
                session = sessions.session_at(ts)
                close_at = session.close if session is not None else -1
            last_ts = ts
        group.append(bar)
        n += 1
        if on_progress is not None and n % progress_every == 0:
            on_progress(progress_every)
    if group:
        step_group()
        if close_at >= 0:
            close_session(close_at)
    if on_progress is not None:
        on_progress(n % progress_every)
    return LoopResult(
        state=state,
        recorder=recorder,
        equity_ts=eq_ts,
        equity_cash=eq_cash,
        equity_value=eq_value,
        exposed=exposed,
        daily_ts=daily_ts,
        daily_equity=daily_eq,
        bars_processed=n,
        wall_seconds=time.perf_counter() - started,
    )
