"""Each component's bulk catch-up equals feeding it the same bars one instant at a time.

The backtest's skipping loop (:mod:`vibe_core.engine.skip`) relies on these: the aggregator's
``catch_up``, the indicator bank's ``extend``, the validator's ``skip_m5`` and the feed gate's
``skip`` leave the same state (the same snapshots) as ``on_slice`` / ``on_bars`` of every bar.
The ``sessions`` fixture (tests/conftest.py) is the NYSE table for 2024-2025.
"""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.bars import BarAggregator, checked_bars
from vibe_core.calendar import SessionTable
from vibe_core.config import ValidationConfig
from vibe_core.events import Bar
from vibe_core.feedgate import FeedGate
from vibe_core.indicators import IndicatorBank, IndicatorSpec
from vibe_core.indicators.rows import Row
from vibe_core.types import Timeframe
from vibe_core.validation import Validator

M5, M15, H1 = Timeframe.M5, Timeframe.M15, Timeframe.H1
SYMBOLS = ("AAPL", "MSFT", "TSLA")


def rows_of(seed: int, n: int, width: int) -> tuple[np.ndarray, ...]:
    """Random valid OHLCV columns (``n x width``), volumes fractional so that sums must be in order."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.5, (n, width)), axis=0)
    opens = close + rng.normal(0, 0.2, (n, width))
    high = np.maximum(opens, close) + rng.exponential(0.1, (n, width))
    low = np.minimum(opens, close) - rng.exponential(0.1, (n, width))
    volume = rng.exponential(1000.0, (n, width)) + rng.random((n, width))
    return opens, high, low, close, volume


def bars_at(times: list[int], columns: tuple[np.ndarray, ...], row: int, source: str = "yahoo") -> list[Bar]:
    o, h, lo, c, v = (col[row].tolist() for col in columns)
    return [
        Bar(
            symbol=s,
            timeframe=M5,
            ts=times[row],
            open=o[i],
            high=h[i],
            low=lo[i],
            close=c[i],
            volume=v[i],
            source=source,
        )
        for i, s in enumerate(SYMBOLS)
    ]


def session_times(sessions: SessionTable, day: dt.date) -> list[int]:
    s = sessions.for_date(day)
    assert s is not None
    return list(range(s.open, s.close, M5.ns))


days = st.sampled_from([dt.date(2024, 3, 8), dt.date(2024, 7, 3), dt.date(2024, 11, 29), dt.date(2025, 6, 2)])


@settings(max_examples=80, deadline=None)
@given(
    day=days,
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(1, 80), min_size=1, max_size=6),
    timeframes=st.sampled_from([(M5, M15, H1), (M5, M15), (M5, H1), (M5,)]),
)
def test_aggregator_catch_up_equals_slices(
    sessions: SessionTable, day: dt.date, seed: int, cuts: list[int], timeframes: tuple[Timeframe, ...]
) -> None:
    """Runs of instants caught up in bulk, between instants sliced one by one, give the same
    bars out (per symbol and timeframe, in order) and the same snapshot."""
    times = session_times(sessions, day)
    columns = rows_of(seed, len(times), len(SYMBOLS))
    one = BarAggregator(sessions=sessions, timeframes=timeframes)
    bulk = BarAggregator(sessions=sessions, timeframes=timeframes)
    expected: list[Bar] = []
    got: list[Bar] = []
    for row in range(len(times)):
        expected += [
            b for b in one.on_slice(times[row], bars_at(times, columns, row)) if b.timeframe is not M5
        ]
    marks = sorted({min(c, len(times)) for c in np.cumsum(cuts).tolist()} | {0, len(times)})
    for i, (lo, hi) in enumerate(itertools.pairwise(marks)):
        if i % 2:  # every other run in bulk, the rest one instant at a time
            for symbol, timeframe, rows in bulk.catch_up(
                times[lo:hi],
                SYMBOLS,
                [col[lo : hi + 1].T.tolist() for col in columns],  # (a row past them: ignored)
                ("yahoo",) * 3,
            ):
                got += [Bar(symbol=symbol, timeframe=timeframe, **row._asdict()) for row in rows]
        else:
            for row in range(lo, hi):
                got += [
                    b
                    for b in bulk.on_slice(times[row], bars_at(times, columns, row))
                    if b.timeframe is not M5
                ]
    key = lambda b: (b.symbol, b.timeframe.ns)  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)  # (a stable sort keeps each one's order)
    assert bulk.snapshot() == one.snapshot()
    assert bulk.next_close == one.next_close


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 150), min_size=1, max_size=5))
def test_bank_extend_equals_bars_one_by_one(seed: int, sizes: list[int]) -> None:
    """``extend`` feeds talipp in the same batches as ``on_bars``: equal snapshots and values."""
    specs = [
        IndicatorSpec(kind="sma", period=20, timeframe=M5, field="volume"),
        IndicatorSpec(kind="atr", period=14, timeframe=M5),
        IndicatorSpec(kind="ema", period=9, timeframe=M5),
        IndicatorSpec(kind="ema", period=3, timeframe=H1),
    ]
    n = sum(sizes)
    t0 = 1_700_000_000_000_000_000
    times = [t0 + i * M5.ns for i in range(n)]
    columns = rows_of(seed, n, 1)
    one = IndicatorBank(specs, window=50)
    bulk = IndicatorBank(specs, window=50)
    start = 0
    for size in sizes:
        rows = [
            Row(times[i], *(float(col[i, 0]) for col in columns), source="yahoo")  # type: ignore[misc]
            for i in range(start, start + size)
        ]
        if len(sizes) % 2:  # (extend_each: the catch-up's call, with extend's common case inlined)
            bulk.extend_each([("AAPL", M5, rows), ("AAPL", H1, rows[:1])])
            one.on_bars(Bar(symbol="AAPL", timeframe=H1, **r._asdict()) for r in rows[:1])
        else:
            bulk.extend("AAPL", M5, rows)
        one.on_bars(
            Bar(
                symbol="AAPL",
                timeframe=M5,
                ts=r.ts,
                open=r.open,
                high=r.high,
                low=r.low,
                close=r.close,
                volume=r.volume,
                source="yahoo",
            )
            for r in rows
        )
        start += size
        assert bulk.snapshot() == one.snapshot()
    for spec in specs:
        assert bulk.value("AAPL", spec.key) == one.value("AAPL", spec.key)


@given(n=st.integers(1, 40), source_changes=st.booleans())
def test_validator_skip_m5_equals_bars(n: int, source_changes: bool) -> None:
    one = Validator.from_config(ValidationConfig())
    bulk = Validator.from_config(ValidationConfig())
    first = Bar(
        symbol="AAPL",
        timeframe=M5,
        ts=0,
        open=1.0,
        high=1.0,
        low=1.0,
        close=1.0,
        volume=5.0,
        source="finnhub",
    )
    one.on_bars([first])
    bulk.on_bars([first])
    source = "yahoo" if source_changes else "finnhub"
    bars = [
        Bar(
            symbol="AAPL",
            timeframe=M5,
            ts=(i + 1) * M5.ns,
            open=1.0,
            high=1.0,
            low=1.0,
            close=1.0,
            volume=float(i),
            source=source,
        )
        for i in range(n)
    ]
    one.on_bars(bars)
    bulk.skip_m5("AAPL", n, bars[-1].volume, source)
    assert bulk.snapshot() == one.snapshot()


@given(seed=st.integers(0, 2**32 - 1), row=st.integers(0, 9))
def test_checked_bars_are_bars(seed: int, row: int) -> None:
    """The catch-up's row of bars built in one call: each is what ``Bar``'s checked constructor
    gives, field for field, and a plain ``Bar`` (frozen as ever)."""
    times = [1_700_000_000_000_000_000 + i * M5.ns for i in range(10)]
    columns = rows_of(seed, 10, len(SYMBOLS))
    values = [col[row].tolist() for col in columns]
    got = checked_bars(SYMBOLS, M5, times[row], *values, ("yahoo",) * len(SYMBOLS))
    assert got == bars_at(times, columns, row)
    assert all(type(bar) is Bar for bar in got)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        got[0].close = 1.0  # type: ignore[misc]


@given(n=st.integers(0, 12), seed=st.integers(0, 2**32 - 1))
def test_validator_skip_rows_equals_bars(n: int, seed: int) -> None:
    """Higher-timeframe rows of the catch-up: 1h ones leave the swing points and the last 1h close,
    15m ones nothing, as the same bars through ``on_bars``."""
    one = Validator.from_config(ValidationConfig())
    bulk = Validator.from_config(ValidationConfig())
    assert one.history_1h  # (the default rules read swing points)
    columns = rows_of(seed, n, 1)
    for timeframe in (M15, H1):
        rows = [
            Row(i * timeframe.ns, *(float(col[i, 0]) for col in columns), source="yahoo")  # type: ignore[misc]
            for i in range(n)
        ]
        one.on_bars(Bar(symbol="AAPL", timeframe=timeframe, **row._asdict()) for row in rows)
        bulk.skip_rows([("AAPL", timeframe, rows)])
        assert bulk.snapshot() == one.snapshot()


@given(n=st.integers(1, 30), gap_before=st.booleans())
def test_feed_gate_skip_equals_bars(sessions: SessionTable, n: int, gap_before: bool) -> None:
    """Consecutive complete instants: no gap opens, and the data times end where bars put them."""
    times = session_times(sessions, dt.date(2024, 3, 8))
    s = sessions.for_date(dt.date(2024, 3, 8))
    assert s is not None
    one = FeedGate.for_config(120.0, SYMBOLS)
    bulk = FeedGate.for_config(120.0, SYMBOLS)
    for gate in (one, bulk):
        gate.on_session_open(s.open, s.close)
    first = 3 if gap_before else 0
    columns = rows_of(1, len(times), len(SYMBOLS))
    for gate in (one, bulk):
        assert gate.on_bars(bars_at(times, columns, first)) == []
    got = []
    for row in range(first + 1, first + 1 + n):
        got += one.on_bars(bars_at(times, columns, row))
    bulk.skip(times[first + 1 : first + 1 + n], SYMBOLS, M5)
    assert got == []
    assert bulk.snapshot() == one.snapshot()
