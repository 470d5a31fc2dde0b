"""The backtest loop (vibe_backtest.loop): a Clock at every session close, one equity sample per instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

from vibe_backtest.api import calendar
from vibe_backtest.data import BarSeries, iter_bars
from vibe_backtest.loop import LoopResult, run_loop, run_market
from vibe_backtest.sample import sample_market
from vibe_core.calendar import SessionTable
from vibe_core.config import Config, config_from_dict
from vibe_core.models import TradeRecord

NY = ZoneInfo("America/New_York")
FIVE_MIN = 300 * 10**9
SYMBOLS = ("AAPL", "TSLA")
#: 30 sessions ending here include Juneteenth and the 13:00 early close of 2024-07-03.
END = dt.date(2024, 7, 12)
N_SESSIONS = 30


def ny_date(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=NY).date()


def lively(symbols: tuple[str, ...] = SYMBOLS) -> Config:
    """Many trades: no validation veto, no slippage or partial fills."""
    return config_from_dict(
        {"symbols": list(symbols), "validation": {"enabled": False}, "exchange": {"preset": "optimistic"}}
    )


@pytest.fixture(scope="module")
def table() -> SessionTable:
    return calendar()


@pytest.fixture(scope="module")
def market(table: SessionTable) -> dict[str, BarSeries]:
    return sample_market(SYMBOLS, sessions=table, n_sessions=N_SESSIONS, end=END)


Runner = Callable[[dict[str, BarSeries], SessionTable], LoopResult]


@pytest.fixture(scope="module", params=["every bar", "skipping"])
def run(request: pytest.FixtureRequest) -> Runner:
    """The loop fed every bar, and the skipping loop over the same market: both must pass."""
    if request.param == "every bar":
        return lambda market, table: run_loop(iter_bars(market), lively(), table)
    return lambda market, table: run_market(market, lively(), table)


@pytest.fixture(scope="module")
def loop(run: Runner, market: dict[str, BarSeries], table: SessionTable) -> LoopResult:
    return run(market, table)


def cut_after(series: BarSeries, hhmm: tuple[int, int]) -> BarSeries:
    """Only the bars that start before ``hhmm`` New York time: each day's data ends early."""
    local = [dt.datetime.fromtimestamp(t / 1e9, tz=NY) for t in series.ts.tolist()]
    keep = np.array([(t.hour, t.minute) < hhmm for t in local])
    return attrs.evolve(
        series,
        ts=series.ts[keep],
        open=series.open[keep],
        high=series.high[keep],
        low=series.low[keep],
        close=series.close[keep],
        volume=series.volume[keep],
    )


def test_every_bar_is_processed_and_progress_adds_up(
    market: dict[str, BarSeries], table: SessionTable
) -> None:
    reported: list[int] = []
    result = run_loop(iter_bars(market), lively(), table, on_progress=reported.append, progress_every=1000)
    total = sum(len(s) for s in market.values())
    assert result.bars_processed == total
    assert sum(reported) == total
    assert all(n == 1000 for n in reported[:-1])
    assert result.wall_seconds > 0


def test_a_clock_closes_every_session_with_data(
    loop: LoopResult, market: dict[str, BarSeries], table: SessionTable
) -> None:
    days = sorted({ny_date(t) for s in market.values() for t in s.ts.tolist()})
    closes = {s.date: s.close for s in table.sessions}
    assert loop.daily_ts.tolist() == [closes[day] for day in days]
    assert len(loop.daily_equity) == len(days) == N_SESSIONS
    # the early close of 2024-07-03 is a 13:00 close, not a 16:00 one
    early = [t for t in loop.daily_ts if ny_date(t) == dt.date(2024, 7, 3)]
    assert [dt.datetime.fromtimestamp(t / 1e9, tz=NY).time() for t in early] == [dt.time(13, 0)]


def test_equity_is_sampled_once_per_instant(loop: LoopResult, market: dict[str, BarSeries]) -> None:
    ts = np.asarray(loop.equity_ts)
    assert np.all(np.diff(ts) > 0), "equity samples must be strictly increasing (one per instant)"
    assert len(loop.equity_cash) == len(loop.equity_value) == len(loop.exposed) == len(ts)
    # the instants are the ends of the bars, plus the session closes (which coincide with the last
    # bar's end on full days)
    bar_ends = {t + FIVE_MIN for s in market.values() for t in s.ts.tolist()}
    assert set(ts.tolist()) == bar_ends | set(loop.daily_ts)


def test_every_session_ends_flat(loop: LoopResult) -> None:
    trades: list[TradeRecord] = loop.recorder.trades
    assert len(trades) > 10  # enough trades for the checks to mean something
    for t in trades:
        assert ny_date(t.exit_time) == ny_date(t.entry_time), t
        assert t.exit_time > t.entry_time
    index = {t: i for i, t in enumerate(loop.equity_ts.tolist())}
    for close in loop.daily_ts:
        i = index[close]
        assert not loop.exposed[i]
        assert loop.equity_cash[i] == pytest.approx(loop.equity_value[i])
    assert not loop.state.portfolio.positions
    # with no fees and a flat book, equity is the capital plus the trades' P&L
    assert loop.equity_value[-1] == pytest.approx(Config().initial_capital + sum(t.pnl for t in trades))
    assert loop.daily_equity[-1] == loop.equity_value[-1]


def test_the_session_close_clock_flattens_when_the_data_stops_early(
    run: Runner, market: dict[str, BarSeries], table: SessionTable
) -> None:
    """Each day's bars stop at 11:00: no bar reaches the flatten time, so only the Clock at the
    close can end the day flat (a market-on-close at the last price)."""
    short = {s: cut_after(v, (11, 0)) for s, v in market.items()}
    result = run(short, table)
    trades = result.recorder.trades
    last_close: dict[tuple[str, dt.date], float] = {}
    last_end: dict[dt.date, int] = {}
    for sym, series in short.items():
        for t, c in zip(series.ts.tolist(), series.close.tolist(), strict=True):
            last_close[(sym, ny_date(t))] = c
            last_end[ny_date(t)] = max(last_end.get(ny_date(t), 0), t + FIVE_MIN)
    held = [t for t in trades if t.exit_time > last_end[ny_date(t.entry_time)]]
    assert held, "some positions must still be open when the day's data ends"
    closes = {s.date: s.close for s in table.sessions}
    for t in trades:
        day = ny_date(t.entry_time)
        assert ny_date(t.exit_time) == day
    for t in held:
        day = ny_date(t.entry_time)
        assert t.exit_time == closes[day]
        assert t.exit_reason.value == "eod"
        assert t.exit_price == pytest.approx(last_close[(t.symbol, day)])
    for close in result.daily_ts:
        i = result.equity_ts.tolist().index(close)
        assert not result.exposed[i]
    assert np.all(np.diff(result.equity_ts) > 0)
    # the closes are sampled on their own: the data ended hours before them
    assert set(result.daily_ts.tolist()) <= set(result.equity_ts.tolist())
    assert not set(result.daily_ts.tolist()) & {t + FIVE_MIN for s in short.values() for t in s.ts.tolist()}


def test_the_loop_is_deterministic_and_leaves_its_input_alone(
    market: dict[str, BarSeries], table: SessionTable, loop: LoopResult
) -> None:
    before = {s: (v.ts.copy(), v.close.copy()) for s, v in market.items()}
    again = run_loop(iter_bars(market), lively(), table)
    assert again.recorder.trades == loop.recorder.trades
    assert again.recorder.fills == loop.recorder.fills
    assert np.array_equal(again.equity_ts, loop.equity_ts)
    assert np.array_equal(again.equity_value, loop.equity_value)
    for s, (ts, close) in before.items():
        assert np.array_equal(market[s].ts, ts) and np.array_equal(market[s].close, close)


def test_no_bars_give_an_empty_result(table: SessionTable) -> None:
    result = run_loop(iter([]), lively(), table)
    assert result.bars_processed == 0
    assert len(result.equity_ts) == 0 and len(result.daily_ts) == 0
    assert result.recorder.trades == []


def test_no_bar_is_skipped_before_the_range_is_set_and_the_loop_asks_again_only_then(
    market: dict[str, BarSeries], table: SessionTable
) -> None:
    """While ORB builds its range, ``quiet`` names the instant from which skipping can start (the
    deferred bars then close after the range's end), and from then on it answers."""
    from vibe_core.engine import new_state, step
    from vibe_core.engine.skip import Quiet, quiet
    from vibe_core.events import BarSlice

    config = lively()
    state = new_state(config, table)
    bars = sorted(iter_bars(market), key=lambda b: (b.ts, SYMBOLS.index(b.symbol)))
    day = table.session_at(bars[0].ts)
    assert day is not None
    range_end = day.open + config.strategy.opening_range_minutes * 60 * 10**9  # type: ignore[attr-defined]
    answers = []
    for ts in sorted({b.ts for b in bars if b.ts < range_end + 2 * FIVE_MIN}):
        step(state, BarSlice(ts=ts, bars=[b for b in bars if b.ts == ts]))
        answers.append((ts, quiet(state, SYMBOLS)))
    for ts, answer in answers:
        if ts + FIVE_MIN <= range_end:  # (the deferred bars build the range)
            assert answer == range_end - FIVE_MIN + 1
        else:
            assert isinstance(answer, Quiet)
