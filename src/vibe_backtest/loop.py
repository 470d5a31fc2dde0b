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
from vibe_core.engine.skip import Lookahead, catch_up, catch_up_row, quiet
from vibe_core.events import Bar, BarSlice, Clock, Filled, OrderAccepted, OrderCancelled, OrderRejected
from vibe_core.models import Fill, Order, TradeRecord

if TYPE_CHECKING:
    from vibe_backtest.data import BarSeries

__all__ = ["Recorder", "LoopResult", "run_loop", "run_market"]

_WINDOW = 512  #: instants :meth:`Quiet.extent` looks at in one go (a session has at most 78 of 5m)
_PATIENCE = 3  #: at most this many steps without asking, after questions that skipped nothing


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


@attrs.define
class Equity:
    """The equity samples of a run as it goes: one per instant after its step, one per session
    close (``daily``), and the closes' step itself (a ``Clock``: end-of-day work as in live)."""

    state: EngineState
    record: Callable[[Iterable[Action]], None]
    ts: list[int] = attrs.Factory(list)
    cash: list[float] = attrs.Factory(list)
    value: list[float] = attrs.Factory(list)
    exposed: list[bool] = attrs.Factory(list)
    daily_ts: list[int] = attrs.Factory(list)
    daily_value: list[float] = attrs.Factory(list)

    def sample(self, ts: int) -> None:
        portfolio = self.state.portfolio
        if self.ts and self.ts[-1] == ts:  # a session's close falls on its last bar's end: one sample
            self.cash[-1] = portfolio.cash
            self.value[-1] = portfolio.equity()
            self.exposed[-1] = bool(portfolio.positions)
            return
        self.ts.append(ts)
        self.cash.append(portfolio.cash)
        self.value.append(portfolio.equity())
        self.exposed.append(bool(portfolio.positions))

    def extend(self, ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> None:
        """Samples of instants that were skipped: cash and positions as they are, ``values`` the
        equity at each (computed from the closes)."""
        portfolio = self.state.portfolio
        self.ts += ts.tolist()
        self.cash += [portfolio.cash] * len(ts)
        self.value += values.tolist()
        self.exposed += [bool(portfolio.positions)] * len(ts)

    def close_session(self, ts: int) -> None:
        _, actions = step(self.state, Clock(ts=ts))
        if actions:
            self.record(actions)
        self.sample(ts)
        self.daily_ts.append(ts)
        self.daily_value.append(self.state.portfolio.equity())

    def result(self, recorder: Recorder, bars: int, started: float, stepped: int = -1) -> LoopResult:
        return LoopResult(
            state=self.state,
            recorder=recorder,
            equity_ts=self.ts,
            equity_cash=self.cash,
            equity_value=self.value,
            exposed=self.exposed,
            daily_ts=self.daily_ts,
            daily_equity=self.daily_value,
            bars_processed=bars,
            wall_seconds=time.perf_counter() - started,
            bars_stepped=stepped,
        )


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
    equity = Equity(state, record)
    sample, close_session = equity.sample, equity.close_session
    close_at = -1  # close of the session the last bar belonged to
    last_ts = -1
    n = 0

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
    return equity.result(recorder, n, started)


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
    equity = Equity(state, record)
    sample, close_session = equity.sample, equity.close_session
    rows = len(grid)
    ts_list = grid.ts.tolist()
    counts = grid.present.sum(axis=1).tolist()
    ok = grid.ok
    _, high, low, close, _ = grid.columns
    look = Lookahead(grid.ts, high, low, close, ok, _WINDOW)
    symbols, sources = grid.symbols, grid.sources
    step_ns = grid.timeframe.ns
    close_at = -1
    n = stepped = reported = 0

    r = next_ask = patience = 0
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
        if r < rows and ok[r] and r >= next_ask:
            found = quiet(state, symbols)
            if isinstance(found, int):  # (no bar can be skipped before the instant it names)
                next_ask = bisect.bisect_left(ts_list, found, r - 1) + 1
            elif found is not None:
                hi = min(r - 1 + _WINDOW, bisect.bisect_left(ts_list, found.deadline, r - 1))
                first, loud = found.extent(look, r - 1, hi)
                skipped = first - 1
                # while the market keeps waking the engine, asking costs more than it saves: the
                # next questions wait a few steps (stepping a quiet bar is never wrong)
                patience = 0 if skipped else min(2 * patience + 1, _PATIENCE)
                next_ask = r + skipped + 1 + patience
                if skipped:
                    catch_up(state, symbols, sources, *grid.rows(r - 1, r + skipped))
                    values = look.equity(found, r - 1, r + skipped)[1:]
                    equity.extend(grid.ts[r : r + skipped] + step_ns, values)
                    n += skipped * len(symbols)
                    r += skipped
        if on_progress is not None and n - reported >= progress_every:
            on_progress(n - reported)
            reported = n
    if rows and close_at >= 0:
        close_session(close_at)
    if on_progress is not None and n > reported:
        on_progress(n - reported)
    return equity.result(recorder, n, started, stepped)
