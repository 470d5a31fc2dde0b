"""Opening Range Breakout (DESIGN §4), driven bar by bar as the engine drives it.

Each closed bar goes to the indicator bank, then to the strategy; every signal's entry is placed
(``on_entry``) before the next bar, unless the test plays a veto.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.calendar import Session, SessionTable
from vibe_core.events import Bar
from vibe_core.indicators import IndicatorBank
from vibe_core.models import Signal
from vibe_core.strategy import OpeningRangeBreakout, OrbConfig
from vibe_core.testing.market import day_bars, random_day
from vibe_core.types import Side, Timeframe

RANGE = (100.0, 101.0, 99.0, 100.0, 1000.0)  #: the three range bars: high 101, low 99
INSIDE = (100.0, 100.5, 99.5, 100.0, 1000.0)
UP = (100.0, 102.0, 100.0, 101.5, 1000.0)  #: closes above the range high
DOWN = (100.0, 100.0, 98.0, 98.5, 1000.0)  #: closes below the range low


def _session(sessions: SessionTable, day: dt.date) -> Session:
    s = sessions.for_date(day)
    assert s is not None
    return s


@pytest.fixture
def day(sessions: SessionTable) -> Session:
    return _session(sessions, dt.date(2024, 5, 1))


def rows(overrides: dict[int, tuple[float, ...]], n: int = 78) -> list[tuple[float, ...]]:
    """A day of bars: the range, then quiet bars, with ``overrides`` at their slots."""
    out = [RANGE if slot < 3 else INSIDE for slot in range(n)]
    for slot, row in overrides.items():
        out[slot] = row
    return out


def run(
    strategy: OpeningRangeBreakout,
    session: Session,
    bars: Sequence[Bar],
    *,
    enter: Callable[[Signal], bool] = lambda s: True,
    position: Callable[[str], int] = lambda s: 0,
    bank: IndicatorBank | None = None,
) -> list[Signal]:
    bank = bank or IndicatorBank(strategy.required_indicators())
    for symbol in sorted({b.symbol for b in bars}):
        strategy.on_session_open(symbol, session)
    signals = []
    for bar in bars:
        bank.on_bars([bar])
        for signal in strategy.on_bars([bar], bank, position):
            signals.append(signal)
            if enter(signal):
                strategy.on_entry(signal.symbol)
    return signals


def orb(**keys: object) -> OpeningRangeBreakout:
    return OpeningRangeBreakout.from_config(OrbConfig(**keys))  # type: ignore[arg-type]


def test_the_first_close_above_the_range_signals_with_stop_at_the_low_and_2r_target(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP}))
    (signal,) = run(orb(), day, bars)
    assert (signal.symbol, signal.side, signal.price) == ("AAPL", Side.BUY, 101.5)
    assert signal.ts == day.open + 6 * Timeframe.M5.ns  # the bar's close, 10:00
    assert (signal.range_high, signal.range_low) == (101.0, 99.0)
    assert signal.stop == 99.0  # the range's other side
    assert signal.target == round(101.5 + 2.0 * (101.5 - 99.0), 2)
    assert signal.strategy == "orb"


def test_the_range_is_the_high_and_low_of_its_minutes(day: Session) -> None:
    wide = {
        0: (100.0, 100.8, 99.6, 100.0, 1.0),
        1: (100.0, 101.4, 99.9, 101.0, 1.0),
        2: (101, 101, 98.7, 99, 1.0),
    }
    bars = day_bars(day, "AAPL", rows({**wide, 6: (101, 101.6, 101, 101.5, 1.0)}))
    (signal,) = run(orb(), day, bars)
    assert (signal.range_high, signal.range_low, signal.stop) == (101.4, 98.7, 98.7)
    longer = day_bars(day, "AAPL", rows({5: (100, 103, 97, 100, 1.0), 8: (100, 104, 100, 103.5, 1.0)}))
    (signal,) = run(orb(opening_range_minutes=30), day, longer)  # bars 0-5 build the range
    assert (signal.range_high, signal.range_low, signal.price) == (103.0, 97.0, 103.5)


def test_a_breakout_inside_the_range_window_is_part_of_the_range(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({2: UP}))  # the third range bar closes above the first two
    assert run(orb(), day, bars) == []  # ... and lifts the range high to 102: no later bar beats it


def test_a_breakout_needs_a_close_inside_the_range_before_it(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP, 6: UP, 7: UP}))
    signals = run(orb(max_trades_per_day=5), day, bars, enter=lambda s: False)
    assert [s.ts for s in signals] == [day.open + 6 * Timeframe.M5.ns]
    again = day_bars(day, "AAPL", rows({5: UP, 6: INSIDE, 7: UP}))
    assert len(run(orb(), day, again, enter=lambda s: False)) == 2  # vetoed: the day is still open


def test_one_entry_a_day_unless_configured(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP, 6: INSIDE, 7: UP, 8: INSIDE, 9: UP}))
    assert len(run(orb(), day, bars)) == 1
    assert len(run(orb(max_trades_per_day=2), day, bars)) == 2
    assert run(orb(max_trades_per_day=0), day, bars) == []


def test_no_signal_while_a_position_is_open(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP}))
    assert run(orb(), day, bars, position=lambda s: 10) == []


@pytest.mark.parametrize(("slot", "signals"), [(65, 1), (66, 0)], ids=["closes-15:00", "closes-15:05"])
def test_the_entry_cut_off_is_inclusive_of_a_bar_closing_at_it(day: Session, slot: int, signals: int) -> None:
    bars = day_bars(day, "AAPL", rows({slot: UP}))
    found = run(orb(), day, bars)
    assert len(found) == signals
    if found:
        assert found[0].ts == day.local_time_ns("15:00")


def test_no_bar_closing_at_or_after_the_flatten_time_signals(sessions: SessionTable) -> None:
    early = _session(sessions, dt.date(2024, 11, 29))  # closes 13:00: flatten at 12:55
    assert early.close == early.local_time_ns("13:00")
    n = (early.close - early.open) // Timeframe.M5.ns
    at_1250 = day_bars(early, "AAPL", rows({n - 3: UP}, n))  # opens 12:45, closes 12:50
    at_1255 = day_bars(early, "AAPL", rows({n - 2: UP}, n))  # closes 12:55
    assert len(run(orb(), early, at_1250)) == 1
    assert run(orb(), early, at_1255) == []
    assert len(run(orb(flatten_minutes_before_close=0), early, at_1255)) == 1


def test_shorts_only_when_allowed(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: DOWN}))
    assert run(orb(), day, bars) == []
    (signal,) = run(orb(allow_short=True), day, bars)
    assert (signal.side, signal.price, signal.stop) == (Side.SELL, 98.5, 101.0)
    assert signal.target == round(98.5 - 2.0 * (101.0 - 98.5), 2)


def test_percent_and_atr_stops(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({20: UP}))
    (pct,) = run(orb(stop_type="percent", stop_percent=0.02), day, bars)
    assert pct.stop == round(101.5 * 0.98, 2)
    assert pct.target == round(101.5 + 2 * (101.5 - pct.stop), 2)
    strategy = orb(stop_type="atr", atr_period=14, atr_multiplier=1.5)
    bank = IndicatorBank(strategy.required_indicators())
    seen: list[float | None] = []  # the ATR when the signal was made (the signal bar included)
    (atr,) = run(
        strategy, day, bars, bank=bank, enter=lambda s: seen.append(bank.value("AAPL", "atr14@5m")) is None
    )
    (value,) = seen
    assert value is not None
    assert atr.stop == round(101.5 - 1.5 * value, 2)
    assert atr.target == round(101.5 + 2 * (101.5 - atr.stop), 2)


def test_an_atr_stop_waits_for_the_atr(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP}))  # six bars: ATR(14) is not warm
    assert run(orb(stop_type="atr"), day, bars) == []


def test_no_range_bar_no_trade(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP})[3:], first_slot=3)  # the feed starts at 09:45
    assert run(orb(), day, bars) == []


def test_only_primary_bars_count(day: Session) -> None:
    m15 = day_bars(day, "AAPL", [UP] * 5, timeframe=Timeframe.M15)
    assert run(orb(), day, m15) == []


def test_a_new_session_starts_from_nothing(sessions: SessionTable, day: Session) -> None:
    strategy = orb()
    assert len(run(strategy, day, day_bars(day, "AAPL", rows({5: UP})))) == 1
    next_day = _session(sessions, dt.date(2024, 5, 2))
    assert len(run(strategy, next_day, day_bars(next_day, "AAPL", rows({7: UP})))) == 1


def test_restored_mid_day_it_continues_the_same(day: Session) -> None:
    bars = day_bars(day, "AAPL", rows({5: UP, 6: INSIDE, 9: UP}))
    whole = run(orb(max_trades_per_day=2), day, bars)
    first = orb(max_trades_per_day=2)
    part = run(first, day, bars[:6])
    restored = OpeningRangeBreakout.restore(first.config, first.snapshot())
    rest = []
    for bar in bars[6:]:
        for signal in restored.on_bars([bar], IndicatorBank([]), lambda s: 0):
            rest.append(signal)
            restored.on_entry(signal.symbol)
    assert part + rest == whole and len(whole) == 2


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    keys=st.fixed_dictionaries(
        {
            "opening_range_minutes": st.sampled_from([5, 15, 30]),
            "last_entry_time": st.sampled_from(["10:30", "13:00", "15:00"]),
            "max_trades_per_day": st.integers(0, 3),
            "allow_short": st.booleans(),
        }
    ),
    veto=st.booleans(),
)
def test_signals_stay_in_the_window_and_within_the_daily_limit(
    sessions: SessionTable, seed: int, keys: dict[str, object], veto: bool
) -> None:
    day = _session(sessions, dt.date(2024, 5, 1))
    rng = np.random.default_rng(seed)
    bars = random_day(day, "AAPL", rng, start=100.0, volatility=0.004)
    strategy = orb(**keys)
    cfg = strategy.config
    signals = run(strategy, day, bars, enter=lambda s: not veto)
    range_end = day.open + cfg.opening_range_minutes * 60 * 10**9
    cut_off = min(day.local_time_ns(cfg.last_entry_time), day.close - 5 * 60 * 10**9 - 1)
    for s in signals:
        assert range_end < s.ts <= cut_off
        assert s.side is Side.BUY or cfg.allow_short
        assert (s.stop < s.price < s.target) if s.side is Side.BUY else (s.target < s.price < s.stop)
    if not veto:
        assert len(signals) <= cfg.max_trades_per_day
    assert attrs.asdict(strategy.config) == attrs.asdict(cfg)
