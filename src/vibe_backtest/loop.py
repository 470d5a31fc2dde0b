"""The backtest loop: turns bars into events, drives ``vibe_core.engine.step``, keeps the records.

Parity by construction: this module makes no trading decision. It merges the symbols' bars by
time into one ``BarSlice`` per open time, adds a ``Clock`` at every session close (so end-of-day
work happens exactly as in the live shell), and hands every action to the :class:`Recorder`.
Equity is sampled once per timestamp.

:func:`run_market` is the backtest's loop over a market of columns: it steps only the instants
that could change something and lets the core catch up the rest in bulk
(:mod:`vibe_core.engine.skip`), with the same records, equity and final state as :func:`run_loop`
feeding every bar (``skip=False`` does exactly that).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from vibe_core.actions import Action, FeedGap, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.calendar import SessionTable
from vibe_core.config import Config
from vibe_core.engine import PRIMARY, EngineState, new_state, step
from vibe_core.engine.skip import catch_up, catch_up_row, quiet
from vibe_core.events import Bar, BarSlice, Clock, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order, TradeRecord

if TYPE_CHECKING:
    from vibe_backtest.data import BarSeries

__all__ = ["Recorder", "LoopResult", "run_loop", "run_market"]

_WINDOW = 512  #: instants :meth:`Quiet.extent` looks at in one go (a session has at most 78 of 5m)


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


def _i64(values: Any) -> npt.NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


def _f64(values: Any) -> npt.NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def _bools(values: Any) -> npt.NDArray[np.bool_]:
    return np.asarray(values, dtype=bool)


@attrs.define
class LoopResult:
    """The engine's records, and equity as columns: one sample per instant (after its step) and
    one per session close (``daily_*``)."""

    state: EngineState
    recorder: Recorder
    equity_ts: npt.NDArray[np.int64] = attrs.field(converter=_i64)
    equity_cash: npt.NDArray[np.float64] = attrs.field(converter=_f64)
    equity_value: npt.NDArray[np.float64] = attrs.field(converter=_f64)
    exposed: npt.NDArray[np.bool_] = attrs.field(converter=_bools)
    daily_ts: npt.NDArray[np.int64] = attrs.field(converter=_i64)
    daily_equity: npt.NDArray[np.float64] = attrs.field(converter=_f64)
    bars_processed: int
    wall_seconds: float
    bars_stepped: int = -1  #: input bars that went through ``step`` (-1: all of them)

    def __attrs_post_init__(self) -> None:
        if self.bars_stepped < 0:
            self.bars_stepped = self.bars_processed


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


def run_market(
    market: Mapping[str, BarSeries],
    config: Config,
    sessions: SessionTable,
    *,
    skip: bool = True,
    on_progress: Callable[[int], Any] | None = None,
    progress_every: int = 20_000,
    state: EngineState | None = None,
) -> LoopResult:
    """:func:`run_loop` over a market of columns, stepping only what could change something.

    After each step the core says what would wake it (:func:`vibe_core.engine.skip.quiet`); the
    instants before the next bar that reaches a level or a deadline are caught up in bulk
    (:func:`vibe_core.engine.skip.catch_up`) and their equity samples computed as columns. The
    result equals :func:`run_loop` of the same bars. ``skip=False``, a strategy without
    ``quiet_band``, bars of another timeframe than 5m or of a symbol not traded: every bar is stepped.
    """
    from vibe_backtest.data import iter_bars  # (data reads files: not needed by the loop itself)
    from vibe_backtest.grid import Grid

    grid = Grid.of(market, sessions) if skip else None
    if grid is None or grid.timeframe is not PRIMARY or not set(grid.symbols) <= set(config.symbols):
        return run_loop(
            iter_bars(market),
            config,
            sessions,
            on_progress=on_progress,
            progress_every=progress_every,
            state=state,
        )
    started = time.perf_counter()
    state = new_state(config, sessions) if state is None else state
    recorder = Recorder()
    record = recorder.record
    portfolio = state.portfolio
    rows = len(grid)
    capacity = 2 * rows + 2  # (a sample per instant, and at most one more per session close)
    eq_ts = np.zeros(capacity, dtype=np.int64)
    eq_cash = np.zeros(capacity)
    eq_value = np.zeros(capacity)
    exposed = np.zeros(capacity, dtype=bool)
    size = 0
    daily_ts: list[int] = []
    daily_eq: list[float] = []
    ts_list = grid.ts.tolist()
    counts = grid.present.sum(axis=1).tolist()
    ok = grid.ok
    symbols, sources = grid.symbols, grid.sources
    step_ns = grid.timeframe.ns
    close_at = -1
    n = stepped = reported = 0

    def sample(ts: int) -> None:
        nonlocal size
        if size and eq_ts[size - 1] == ts:  # a session's close falls on its last bar's end: one sample
            size -= 1
        eq_ts[size] = ts
        eq_cash[size] = portfolio.cash
        eq_value[size] = portfolio.equity()
        exposed[size] = bool(portfolio.positions)
        size += 1

    def close_session(ts: int) -> None:
        _, actions = step(state, Clock(ts=ts))
        if actions:
            record(actions)
        sample(ts)
        daily_ts.append(ts)
        daily_eq.append(portfolio.equity())

    r = 0
    loud: npt.NDArray[np.bool_] | None = None  #: the symbols to step at row r (None: all)
    while r < rows:
        ts = ts_list[r]
        if ts >= close_at:
            if close_at >= 0:
                close_session(close_at)
            session = sessions.session_at(ts)
            close_at = session.close if session is not None else -1
        bars = grid.bars(r)
        if loud is None:
            _, actions = step(state, BarSlice(ts=ts, bars=bars))
            stepped += counts[r]
        else:  # only the loud symbols' bars go through the step; the others are caught up
            chosen = loud.tolist()
            _, actions = step(
                state, BarSlice(ts=ts, bars=[b for b, x in zip(bars, chosen, strict=True) if x])
            )
            catch_up_row(state, [b for b, x in zip(bars, chosen, strict=True) if not x], bars)
            stepped += sum(chosen)
            loud = None
        if actions:
            record(actions)
        sample(ts + step_ns)
        n += counts[r]
        r += 1
        if r < rows and ok[r]:
            found = quiet(state, symbols)
            if found is not None:
                hi = min(r - 1 + _WINDOW, bisect.bisect_left(ts_list, found.deadline, r - 1))
                t, (_, high, low, close, _) = grid.rows(r - 1, hi)
                first, loud = found.extent(t, high, low, close, ok[r - 1 : hi])
                skipped = first - 1
                if skipped:
                    catch_up(state, symbols, sources, *grid.rows(r - 1, r + skipped))
                    end = size + skipped
                    eq_ts[size:end] = grid.ts[r : r + skipped] + step_ns
                    eq_cash[size:end] = portfolio.cash
                    eq_value[size:end] = grid.equity(r, r + skipped, portfolio.cash, found.positions)
                    exposed[size:end] = bool(portfolio.positions)
                    size = end
                    n += skipped * len(symbols)
                    r += skipped
        if on_progress is not None and n - reported >= progress_every:
            on_progress(n - reported)
            reported = n
    if rows and close_at >= 0:
        close_session(close_at)
    if on_progress is not None and n > reported:
        on_progress(n - reported)
    return LoopResult(
        state=state,
        recorder=recorder,
        equity_ts=eq_ts[:size].copy(),
        equity_cash=eq_cash[:size].copy(),
        equity_value=eq_value[:size].copy(),
        exposed=exposed[:size].copy(),
        daily_ts=daily_ts,
        daily_equity=daily_eq,
        bars_processed=n,
        wall_seconds=time.perf_counter() - started,
        bars_stepped=stepped,
    )
