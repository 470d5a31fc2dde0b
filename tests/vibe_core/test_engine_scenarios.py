"""Hand-computed scenario days through the whole engine (ORB + risk + venue + portfolio).

Each day starts with the same opening range on AAPL: 09:30-09:40 bars give range high 101.00 and
range low 99.50; the 09:45 bar closes at 101.30 above the range, so the signal comes at 09:50 with
stop 99.50, target 101.30 + 2 x 1.80 = 104.90, and size floor(min(1% x 10,000 / 1.80 = 55.5,
20% x 10,000 / 101.30 = 19.7, cash / 101.30)) = 19 shares. The entry fills at the 09:50 bar's
open, 101.50 (optimistic preset: no slippage, no partials, no delay, no fees).
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from vibe_core.actions import FeedGap, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.calendar import ns_to_datetime
from vibe_core.config import config_from_dict
from vibe_core.engine import new_state, step
from vibe_core.events import Bar, Clock, CloseAll, Filled, OrderAccepted
from vibe_core.testing.market import as_prints, as_slices, day_bars, events_for
from vibe_core.types import ExitReason, OrderType, Side

RANGE = [
    (100.0, 101.0, 99.5, 100.5, 1000.0),
    (100.5, 100.8, 99.8, 100.2, 1000.0),
    (100.2, 100.9, 99.9, 100.6, 1000.0),
]
BREAKOUT = (100.6, 101.4, 100.5, 101.3, 1000.0)
ENTRY_BAR = (101.5, 102.0, 101.2, 101.8, 1000.0)
QTY = 19
ENTRY = 101.5


def flat(price: float, n: int) -> list[tuple[float, float, float, float, float]]:
    return [(price, price + 0.1, price - 0.1, price, 1000.0)] * n


def config(**overrides):
    data = {
        "symbols": ["AAPL", "MSFT"],
        "exchange": {"preset": "optimistic"},
        "validation": {"enabled": False},
    }
    for key, value in overrides.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return config_from_dict(data)


def run(events, cfg, sessions):
    state = new_state(cfg, sessions)
    actions = []
    for event in events:
        state, out = step(state, event)
        actions.extend(out)
    return state, actions


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def fills(actions):
    return [a.fill for a in of(actions, Filled)]


def session(sessions, day):
    s = sessions.for_date(dt.date.fromisoformat(day))
    assert s is not None
    return s


def n_slots(s):
    return (s.close - s.open) // (5 * 60 * 10**9)


def one_day(sessions, day, rows_after_entry, *, symbol="AAPL"):
    s = session(sessions, day)
    rows = [*RANGE, BREAKOUT, ENTRY_BAR, *rows_after_entry]
    rows += flat(rows[-1][3], n_slots(s) - len(rows))
    return s, events_for([(s, [day_bars(s, symbol, rows)])])


def local(ts):
    return ns_to_datetime(ts).strftime("%H:%M:%S")


def test_breakout_to_target(sessions):
    # 09:55 bar: open 101.80, low 101.70 is nearer than high 105.20, so the path is
    # 101.80 -> 101.70 -> 105.20 -> 105.00 and the 104.90 target fills at its level.
    _, events = one_day(sessions, "2024-05-01", [(101.8, 105.2, 101.7, 105.0, 1000.0)])
    state, actions = run(events, config(), sessions)
    (signal,) = of(actions, SignalEvaluated)
    assert signal.accepted and signal.qty == QTY
    assert (signal.signal.stop, signal.signal.target, local(signal.signal.ts)) == (99.5, 104.9, "09:50:00")
    accepted = [a.order for a in of(actions, OrderAccepted)]
    assert [(o.id, o.type, o.tag) for o in accepted] == [
        ("AAPL-20240501-1", OrderType.MARKET, "entry"),
        ("AAPL-20240501-1-sl", OrderType.STOP, "stop"),
        ("AAPL-20240501-1-tp", OrderType.LIMIT, "target"),
    ]
    entry, exit_ = fills(actions)
    assert (entry.side, entry.qty, entry.price, local(entry.ts)) == (Side.BUY, QTY, ENTRY, "09:50:00")
    assert (exit_.side, exit_.qty, exit_.price) == (Side.SELL, QTY, 104.9)
    assert "09:55:00" <= local(exit_.ts) < "10:00:00"
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert trade.exit_reason is ExitReason.TARGET
    assert trade.pnl == pytest.approx(QTY * (104.9 - ENTRY))
    assert state.portfolio.equity() == pytest.approx(10_000 + QTY * (104.9 - ENTRY))
    assert state.portfolio.positions == {}


def test_breakout_to_stop(sessions):
    # 09:55 bar: open 101.60, high 101.70 nearer than low 99.00: 101.60 -> 101.70 -> 99.00; stop at 99.50.
    _, events = one_day(sessions, "2024-05-01", [(101.6, 101.7, 99.0, 99.2, 1000.0)])
    state, actions = run(events, config(), sessions)
    _, exit_ = fills(actions)
    assert exit_.price == 99.5
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert trade.exit_reason is ExitReason.STOP
    assert trade.pnl == pytest.approx(QTY * (99.5 - ENTRY))
    assert state.portfolio.cash == pytest.approx(10_000 + QTY * (99.5 - ENTRY))


def test_no_breakout_no_orders(sessions):
    s = session(sessions, "2024-05-01")
    rows = [*RANGE, *flat(100.4, n_slots(s) - 3)]
    _, actions = run(events_for([(s, [day_bars(s, "AAPL", rows)])]), config(), sessions)
    # MSFT, configured but silent all day while AAPL trades, is the day's one record: a feed gap
    assert actions == [FeedGap(symbol="MSFT", start=s.open, end=s.close, reason="stale")]


def test_gap_through_stop_fills_at_open(sessions):
    _, events = one_day(sessions, "2024-05-01", [(99.0, 99.3, 98.5, 99.1, 1000.0)])
    _, actions = run(events, config(), sessions)
    _, exit_ = fills(actions)
    assert exit_.price == 99.0  # the open, worse than the 99.50 stop
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert trade.exit_reason is ExitReason.STOP
    assert trade.pnl == pytest.approx(QTY * (99.0 - ENTRY))


@pytest.mark.parametrize(
    ("bar", "reason", "price"),
    [
        ((102.0, 105.5, 99.0, 100.0, 1000.0), ExitReason.STOP, 99.5),  # low 3.0 away, high 3.5: low first
        ((102.5, 105.5, 99.0, 100.0, 1000.0), ExitReason.TARGET, 104.9),  # high 3.0 away, low 3.5: high first
    ],
)
def test_stop_and_target_in_one_bar_follow_the_path(sessions, bar, reason, price):
    _, events = one_day(sessions, "2024-05-01", [bar])
    _, actions = run(events, config(), sessions)
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert (trade.exit_reason, trade.exit_price) == (reason, price)


def test_early_close_flattens_at_1255(sessions):
    s = session(sessions, "2024-11-29")
    assert s.early_close and n_slots(s) == 42  # 09:30 .. 12:55
    _, events = one_day(sessions, "2024-11-29", [])
    # make the 12:55 bar open at 102.30 to see the exit price
    last = events[-2]
    assert local(last.ts) == "12:55:00"
    events[-2] = attrs.evolve(last, open=102.3, high=102.4)
    _, actions = run(events, config(), sessions)
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert trade.exit_reason is ExitReason.EOD
    assert (trade.exit_price, local(trade.exit_time)) == (102.3, "12:55:00")
    assert trade.pnl == pytest.approx(QTY * (102.3 - ENTRY))


def test_holiday_sees_no_activity(sessions):
    assert sessions.for_date(dt.date(2024, 7, 4)) is None
    s = session(sessions, "2024-07-03")
    # bars stamped on July 4th at the times a session would have had
    fake_open = s.open + 24 * 3600 * 10**9
    bars = [
        Bar(
            symbol="AAPL",
            timeframe=b.timeframe,
            ts=fake_open + i * 300 * 10**9,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            volume=b.volume,
        )
        for i, b in enumerate(day_bars(s, "AAPL", [*RANGE, BREAKOUT, ENTRY_BAR, *flat(101.8, 20)]))
    ]
    state, actions = run([*bars, Clock(ts=fake_open + 7 * 3600 * 10**9)], config(), sessions)
    assert actions == []
    assert state.session_index == -1 and state.portfolio.cash == 10_000


@pytest.mark.parametrize("day", ["2024-03-08", "2024-03-11", "2024-11-01", "2024-11-04"])
def test_dst_weeks_trade_at_0930_eastern(sessions, day):
    _, events = one_day(sessions, day, [(101.8, 105.2, 101.7, 105.0, 1000.0)])
    _, actions = run(events, config(), sessions)
    entry, exit_ = fills(actions)
    assert local(entry.ts) == "09:50:00"
    assert ns_to_datetime(entry.ts).date() == dt.date.fromisoformat(day)
    assert exit_.price == 104.9


def test_daily_loss_halt_blocks_next_entry(sessions):
    # AAPL gaps from 101.80 to 80.00 through its 99.50 stop: loss 19 x 21.50 = 408.50 >= 3% of 10,000.
    # MSFT breaks out later the same day: the signal is vetoed by the halt.
    s = session(sessions, "2024-05-01")
    n = n_slots(s)
    aapl = [*RANGE, BREAKOUT, ENTRY_BAR, (80.0, 80.5, 79.5, 80.2, 1000.0)]
    aapl += flat(80.2, n - len(aapl))
    msft = [*RANGE, *flat(100.4, 6), (100.5, 101.5, 100.4, 101.4, 1000.0)]
    msft += flat(101.4, n - len(msft))
    events = events_for([(s, [day_bars(s, "AAPL", aapl), day_bars(s, "MSFT", msft)])])
    _, actions = run(events, config(), sessions)
    (halt,) = of(actions, RiskHalted)
    assert halt.equity == pytest.approx(10_000 - QTY * (ENTRY - 80.0))
    aapl_signal, msft_signal = of(actions, SignalEvaluated)
    assert aapl_signal.accepted and not msft_signal.accepted
    assert msft_signal.signal.symbol == "MSFT"
    assert "risk: daily loss halt" in msft_signal.reasons
    assert [f.symbol for f in fills(actions)] == ["AAPL", "AAPL"]


@pytest.mark.parametrize("mode", ["bars", "slices", "prints"])
def test_the_halt_is_checked_on_closing_marks_alike_in_bars_and_prints(sessions, mode):
    # MSFT breaks out on the 09:50 bar: its entry is placed at 09:55 and fills at MSFT's 09:55
    # open. AAPL's 09:55 bar gaps through its stop. Within the interval nothing is decided (prints
    # interleave the symbols, bars take them one after the other): the halt fires on the closing
    # marks at 10:00, in every mode, and flattens MSFT at its 10:00 open.
    s = session(sessions, "2024-05-01")
    n = n_slots(s)
    aapl = [*RANGE, BREAKOUT, ENTRY_BAR, (80.0, 80.5, 79.5, 80.2, 1000.0)]
    aapl += flat(80.2, n - len(aapl))
    msft = [
        *RANGE,
        *flat(100.4, 1),
        (100.5, 101.5, 100.4, 101.4, 1000.0),
        (101.6, 102.0, 101.5, 101.9, 1000.0),
    ]
    msft += flat(101.9, n - len(msft))
    events = events_for([(s, [day_bars(s, "AAPL", aapl), day_bars(s, "MSFT", msft)])])
    events = {"bars": events, "slices": as_slices(events), "prints": as_prints(events)}[mode]
    _, actions = run(events, config(), sessions)
    (halt,) = of(actions, RiskHalted)
    assert local(halt.ts) == "10:00:00"
    signals = of(actions, SignalEvaluated)
    assert [(sig.signal.symbol, sig.accepted) for sig in signals] == [("AAPL", True), ("MSFT", True)]
    done = sorted((local(f.ts), f.symbol, f.side, f.qty, f.price, f.tag) for f in fills(actions))
    assert [(t, sym, tag) for t, sym, _, _, _, tag in done] == [
        ("09:50:00", "AAPL", "entry"),
        ("09:55:00", "AAPL", "stop"),
        ("09:55:00", "MSFT", "entry"),
        ("10:00:00", "MSFT", "halt"),
    ]


def test_halt_resets_at_next_session(sessions):
    s1, s2 = session(sessions, "2024-05-01"), session(sessions, "2024-05-02")
    day1 = [*RANGE, BREAKOUT, ENTRY_BAR, (80.0, 80.5, 79.5, 80.2, 1000.0)]
    day1 += flat(80.2, n_slots(s1) - len(day1))
    day2 = [
        (80.0, 81.0, 79.5, 80.5, 1000.0),
        (80.5, 80.8, 79.8, 80.2, 1000.0),
        (80.2, 80.9, 79.9, 80.6, 1000.0),
    ]
    day2 += [(80.6, 81.4, 80.5, 81.3, 1000.0), *flat(81.3, n_slots(s2) - 4)]
    events = events_for([(s1, [day_bars(s1, "AAPL", day1)]), (s2, [day_bars(s2, "AAPL", day2)])])
    _, actions = run(events, config(), sessions)
    signals = of(actions, SignalEvaluated)
    assert [sig.accepted for sig in signals] == [True, True]


@pytest.mark.parametrize(
    ("volume", "accepted", "reason"),
    [
        (500.0, False, "volume 0.50x < 1.50x"),
        (1490.0, False, "volume 1.49x < 1.50x"),
        (2000.0, True, "volume 2.00x >= 1.50x"),
    ],
)
def test_volume_validation_vetoes_or_passes_with_its_reason(sessions, volume, accepted, reason):
    # Day 1 gives 78 bars of volume 1,000 from one source; day 2's breakout bar has ``volume``.
    s1, s2 = session(sessions, "2024-05-01"), session(sessions, "2024-05-02")
    day1 = day_bars(s1, "AAPL", flat(100.0, n_slots(s1)))
    breakout = (100.6, 101.4, 100.5, 101.3, volume)
    day2 = day_bars(s2, "AAPL", [*RANGE, breakout, *flat(101.3, n_slots(s2) - 4)])
    cfg = config(
        **{
            "validation.enabled": True,
            "validation.trend": False,
            "validation.support_resistance": False,
        }
    )
    _, actions = run(events_for([(s1, [day1]), (s2, [day2])]), cfg, sessions)
    (verdict,) = of(actions, SignalEvaluated)
    assert verdict.accepted is accepted
    assert verdict.reasons[0] == reason
    if accepted:
        assert verdict.vetoes == ()
        assert [f.tag for f in fills(actions)][:1] == ["entry"]
    else:
        assert verdict.reasons == verdict.vetoes == (reason,)
        assert fills(actions) == []


def test_close_all_flattens_at_next_open(sessions):
    _, events = one_day(sessions, "2024-05-01", [(101.8, 102.0, 101.7, 101.9, 1000.0)])
    # after the 09:55 bar (which closes at 10:00), the operator closes everything
    at = next(i for i, e in enumerate(events) if isinstance(e, Bar) and local(e.ts) == "10:00:00")
    events.insert(at, CloseAll(ts=events[at].ts))
    events[at + 1] = attrs.evolve(events[at + 1], open=101.95, high=102.0)
    _, actions = run(events, config(), sessions)
    (trade,) = [a.trade for a in of(actions, TradeClosed)]
    assert trade.exit_reason is ExitReason.CLOSE_ALL
    assert (trade.exit_price, local(trade.exit_time)) == (101.95, "10:00:00")
    cancelled = {a.order_id for a in actions if type(a).__name__ == "OrderCancelled"}
    assert cancelled == {"AAPL-20240501-1-sl", "AAPL-20240501-1-tp"}
