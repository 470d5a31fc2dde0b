"""The feed gate on hand-written days: a stale symbol, the feed down, an opening range with a gap.

Prints are written out one by one (every 20 s for a symbol that trades), so the times the gate sees
are the ones a reader can check; the verdicts are read from the ``SignalEvaluated`` records.
"""

from __future__ import annotations

import pytest

from vibe_core.actions import FeedGap, SignalEvaluated
from vibe_core.calendar import nyse_sessions
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.events import Clock, Event, FeedStatus, Filled, Trade
from vibe_core.testing.market import day_bars, events_for
from vibe_core.types import NS_PER_MINUTE, NS_PER_SECOND

SESSIONS = nyse_sessions("2024-04-29", "2024-05-10")
DAY = SESSIONS.for_date(SESSIONS.sessions[2].date)
NEXT = SESSIONS.sessions[3]
S = NS_PER_SECOND
M = NS_PER_MINUTE


def config(**feed):
    return config_from_dict(
        {
            "symbols": ["AAPL", "MSFT"],
            "exchange": {"preset": "optimistic"},
            "validation": {"enabled": False},
            "feed": feed,
        }
    )


def at(session, minutes: float) -> int:
    return session.open + round(minutes * M)


def prints(symbol: str, session, start: float, end: float, price, every: int = 20) -> list[Trade]:
    """Prints of ``symbol`` every ``every`` s from ``start`` to ``end`` minutes after the open
    (``price``: a number, or a function of the minute)."""
    out = []
    t = at(session, start)
    stop = at(session, end)
    while t < stop:
        minute = (t - session.open) / M
        p = price(minute) if callable(price) else price
        out.append(Trade(symbol=symbol, ts=t, price=p, size=100.0))
        t += every * S
    return out


def range_then(minute: float) -> float:
    """AAPL: a 100-101 opening range (09:30-09:45), then 100.5."""
    if minute < 15:
        return 101.0 if int(minute) == 3 else (100.0 if int(minute) == 7 else 100.5)
    return 100.5


def merged(*streams: list[Event]) -> list[Event]:
    return sorted((e for s in streams for e in s), key=lambda e: e.ts)


def run(events, cfg, state=None):
    state = new_state(cfg, SESSIONS) if state is None else state
    actions = []
    for event in events:
        state, out = step(state, event)
        actions.extend(out)
    return state, actions


def verdicts(actions):
    return [(a.signal.symbol, a.accepted, a.vetoes) for a in actions if isinstance(a, SignalEvaluated)]


def gaps(actions):
    return [a for a in actions if isinstance(a, FeedGap)]


def stale_day():
    """AAPL breaks out at 09:46 and goes silent until 10:00 while MSFT trades; at 10:05 it breaks
    out again, fresh."""
    aapl = [
        *prints("AAPL", DAY, 0, 15, range_then),
        Trade(symbol="AAPL", ts=at(DAY, 15), price=100.5, size=100.0),
        Trade(symbol="AAPL", ts=at(DAY, 16), price=101.5, size=100.0),  # the breakout's last print
        *prints("AAPL", DAY, 30, 35, 100.5),  # back inside the range
        *prints("AAPL", DAY, 35, 60, 101.6),  # a fresh breakout
    ]
    msft = prints("MSFT", DAY, 0, 60, 50.0)
    return merged(aapl, msft)


def test_a_stale_symbol_takes_no_entry_and_trades_again_once_fresh():
    _, actions = run(stale_day(), config())
    assert verdicts(actions) == [
        # at 09:50, AAPL's last print is from 09:46:00, MSFT's from 09:49:40: 220 s apart
        ("AAPL", False, ("feed stale: AAPL silent 220 s",)),
        ("AAPL", True, ()),
    ]
    assert gaps(actions) == [FeedGap(symbol="AAPL", start=at(DAY, 16), end=at(DAY, 30), reason="stale")]
    entries = [a.fill for a in actions if isinstance(a, Filled) and a.fill.tag == "entry"]
    assert [(f.symbol, f.ts) for f in entries] == [("AAPL", at(DAY, 40))]


def test_a_longer_threshold_lets_the_same_signal_through():
    _, actions = run(stale_day(), config(stale_seconds=300))
    assert verdicts(actions)[0] == ("AAPL", True, ())
    assert gaps(actions) == [FeedGap(symbol="AAPL", start=at(DAY, 16), end=at(DAY, 30), reason="stale")]


def down_day(up: float = 23, resume: float = 23.5):
    """Both symbols trade; the feed goes down at 09:47 (no prints) and comes back at ``up``, data at
    ``resume``; the live shell's Clock closes the 09:45 bars at 09:50 meanwhile."""
    aapl = [
        *prints("AAPL", DAY, 0, 15, range_then),
        *prints("AAPL", DAY, 15, 17, 101.5),
        *prints("AAPL", DAY, resume, 40, 100.5),
        *prints("AAPL", DAY, 40, 60, 101.6),
    ]
    msft = [*prints("MSFT", DAY, 0, 17, 50.0), *prints("MSFT", DAY, resume, 60, 50.0)]
    status = [
        FeedStatus(ts=at(DAY, 17), connected=False, reason="closed by server"),
        Clock(ts=at(DAY, 20)),
        FeedStatus(ts=at(DAY, up), connected=True),
    ]
    return merged(aapl, msft, status)


def test_no_entry_while_the_feed_is_down_and_an_outage_that_missed_data_is_a_gap():
    _, actions = run(down_day(), config())
    assert verdicts(actions) == [
        ("AAPL", False, ("feed down: closed by server",)),
        ("AAPL", True, ()),  # the 10:10 breakout, after the feed came back
    ]
    # the silence runs from the last print before the outage to the first after it
    last = at(DAY, 17) - 20 * S
    assert gaps(actions) == [
        FeedGap(symbol="*", start=last, end=at(DAY, 23.5), reason="feed down: closed by server")
    ]


def test_a_reconnect_after_which_nothing_was_missed_is_no_gap():
    """Down and up again within a minute, the data resuming where it stopped: no trace."""
    events = [
        *prints("AAPL", DAY, 0, 60, range_then),
        *prints("MSFT", DAY, 0, 60, 50.0),
        FeedStatus(ts=at(DAY, 25) + 5 * S, connected=False, reason="watchdog"),
        FeedStatus(ts=at(DAY, 25) + 9 * S, connected=True),
    ]
    _, with_drop = run(merged(events), config())
    _, without = run(merged([e for e in events if not isinstance(e, FeedStatus)]), config())
    assert with_drop == without
    assert gaps(with_drop) == []


def test_back_up_but_silent_still_refuses_entries_on_old_data():
    """The feed is up again at 09:49 but no print came since 09:46:40: the 09:45 bars closing at
    the 09:50 Clock carry 200 s old data."""
    events = down_day(up=19, resume=23.5)
    _, actions = run(events, config())
    assert verdicts(actions)[0] == ("AAPL", False, ("feed down: closed by server, no data for 200 s",))


def test_exits_stops_and_the_flatten_go_on_while_the_feed_is_down():
    """AAPL and MSFT break out at 09:50 (entries fill at 09:50:00); the feed goes down at 10:00 and
    never comes back as such, but prints still arrive: AAPL falls through its stop, MSFT is
    flattened at 15:55."""

    def msft_price(minute):
        return range_then(minute) / 2 if minute < 15 else (50.25 if minute < 16 else 50.8)

    events = [
        *prints("AAPL", DAY, 0, 16, range_then),
        *prints("AAPL", DAY, 16, 40, 101.5),
        *prints("AAPL", DAY, 40, 60, 99.0),  # below the stop (the range low, 100.0)
        *prints("MSFT", DAY, 0, 390, msft_price, every=60),
        FeedStatus(ts=at(DAY, 30), connected=False, reason="closed by server"),
        Clock(ts=DAY.close),
    ]
    state, actions = run(merged(events), config())
    fills = [(a.fill.symbol, a.fill.tag) for a in actions if isinstance(a, Filled)]
    assert fills == [("AAPL", "entry"), ("MSFT", "entry"), ("AAPL", "stop"), ("MSFT", "eod")]
    assert state.feed.down and not state.portfolio.positions


def test_an_opening_range_spanning_a_gap_takes_no_entry_that_day():
    """AAPL is silent from 09:35 to 09:41 (inside the range) while MSFT trades; its 10:00 breakout
    is refused; the next day, complete, it trades."""
    aapl = [
        *prints("AAPL", DAY, 0, 5, range_then),
        *prints("AAPL", DAY, 11, 25, range_then),
        *prints("AAPL", DAY, 25, 40, 101.6),
    ]
    msft = prints("MSFT", DAY, 0, 40, 50.0)
    day2 = [
        *prints("AAPL", NEXT, 0, 15, range_then),
        *prints("AAPL", NEXT, 15, 40, 101.6),
        *prints("MSFT", NEXT, 0, 40, 50.0),
    ]
    _, actions = run([*merged(aapl, msft), Clock(ts=DAY.close), *merged(day2)], config())
    assert verdicts(actions) == [
        ("AAPL", False, ("opening range incomplete: feed gap 09:34:40-09:41:00",)),
        ("AAPL", True, ()),
    ]
    assert gaps(actions)[0] == FeedGap(
        symbol="AAPL", start=at(DAY, 5) - 20 * S, end=at(DAY, 11), reason="stale"
    )


def test_the_same_in_bar_mode_a_missing_range_bar_leaves_the_range_incomplete():
    rows_range = [(100.0, 101.0, 99.5, 100.5, 1000.0), (100.2, 100.9, 99.9, 100.6, 1000.0)]
    breakout = [(100.6, 101.4, 100.5, 101.3, 1000.0)] + [(101.3, 101.5, 101.2, 101.4, 1000.0)] * 3
    aapl = day_bars(DAY, "AAPL", [*rows_range, *breakout], skip=[1])  # no 09:35 bar
    msft = day_bars(DAY, "MSFT", [(50.0, 50.1, 49.9, 50.0, 1000.0)] * 12)
    aapl2 = day_bars(NEXT, "AAPL", [*rows_range, (100.2, 100.9, 99.9, 100.6, 1000.0), *breakout])
    msft2 = day_bars(NEXT, "MSFT", [(50.0, 50.1, 49.9, 50.0, 1000.0)] * 12)
    _, actions = run(events_for([(DAY, [aapl, msft]), (NEXT, [aapl2, msft2])]), config())
    vetoed, accepted = verdicts(actions)
    assert vetoed == ("AAPL", False, ("opening range incomplete: feed gap 09:34:59-09:40:00",))
    assert accepted == ("AAPL", True, ())
    assert FeedGap(symbol="AAPL", start=at(DAY, 5) - S, end=at(DAY, 10), reason="stale") in gaps(actions)


def test_a_symbol_still_silent_at_the_close_is_recorded_then():
    events = [*prints("AAPL", DAY, 0, 30, 100.5), *prints("MSFT", DAY, 0, 60, 50.0), Clock(ts=DAY.close)]
    _, actions = run(merged(events), config())
    last_aapl = at(DAY, 30) - 20 * S
    last_msft = at(DAY, 60) - 20 * S
    # both went silent; only AAPL while MSFT still traded (MSFT's own silence has no one current)
    assert gaps(actions) == [FeedGap(symbol="AAPL", start=last_aapl, end=DAY.close, reason="stale")]
    assert last_msft - last_aapl > 120 * S


@pytest.mark.parametrize("cut", [60, 90, 100, 140, 160, 200])
def test_save_and_load_mid_stale_or_mid_outage_continues_exactly(cut):
    """Cut the down day and the stale day anywhere (while AAPL is stale, while the feed is down or
    back up without data): a restored engine continues exactly like the original."""
    for events in (stale_day(), down_day(), down_day(up=19)):
        cfg = config()
        whole, expected = run(events, cfg)
        state, first = run(events[:cut], cfg)
        data = save_state(state)
        restored = load_state(data, SESSIONS)
        assert save_state(restored) == data
        state, rest = run(events[cut:], cfg, restored)
        assert first + rest == expected
        assert save_state(state) == save_state(whole)
