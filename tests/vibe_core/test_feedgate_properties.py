"""The feed gate's promises as properties over random markets with holes and feed outages.

- No entry is ever placed on a symbol that a naive model of the rule calls stale, nor while the feed
  is down (bar mode and print mode, prints thinned so that bars close on old data).
- Exits, stops and the flatten go on while the feed is down: the positions opened before the
  outage exit exactly as without it, and every session ends flat.
- A replay of the log (the events through the codec's JSON, into a fresh engine) reproduces every
  decision; so does a restart from a snapshot taken anywhere.
- Bar mode and the bars' four points replayed as prints decide alike, gaps and outages included.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.vibe_core.records import per_symbol

from vibe_core.actions import FeedGap, SignalEvaluated
from vibe_core.calendar import nyse_sessions
from vibe_core.codec import event_from_dict, event_to_dict
from vibe_core.config import config_from_dict
from vibe_core.engine import load_state, new_state, save_state, step
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    Trade,
)
from vibe_core.sim.points import POINT_OFFSETS
from vibe_core.testing.market import as_prints, as_slices, events_for, random_day
from vibe_core.types import NS_PER_SECOND, Timeframe

SESSIONS = nyse_sessions("2024-10-01", "2024-12-31")
DAYS = [s for s in SESSIONS.sessions if s.date.month == 11]
SYMBOLS = ("AAPL", "MSFT", "TSLA")
M5 = Timeframe.M5.ns
LAST_POINT = M5 * POINT_OFFSETS[-1] // 300
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the market: random days, holes in one symbol's bars, feed outages ---------------------------


@st.composite
def markets(draw, *, outages: bool = True, n_symbols: int = 3):
    """``(config, bar events)``: 1-2 days; some symbols miss a run of bars; the feed may go down
    (FeedStatus at a bar boundary, no data until it comes back up, maybe never that day)."""
    symbols = SYMBOLS[:n_symbols]
    first = draw(st.integers(0, len(DAYS) - 2))
    days = []
    statuses: list[FeedStatus] = []
    cut: list[tuple[int, int]] = []  # [from, to) with no data for any symbol
    for session in DAYS[first : first + draw(st.integers(1, 2))]:
        n = int((session.close - session.open) // M5)
        per_symbol = []
        for sym in symbols:
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            bars = random_day(
                session,
                sym,
                rng,
                start=100.0,
                volatility=0.003,
                drift=draw(st.sampled_from([0.0, 0.0008, -0.0008])),
                source="finnhub",
            )
            if draw(st.booleans()):  # a hole: a run of missing bars (often inside the opening range)
                a = draw(st.integers(0, 40))
                k = draw(st.integers(1, 12))
                bars = [b for i, b in enumerate(bars) if not a <= i < a + k]
            per_symbol.append(bars)
        if outages and draw(st.booleans()):
            down = draw(st.integers(1, n - 2))
            up = draw(st.integers(down, n + 1))  # (n + 1: not back before the close)
            t_down = session.open + down * M5
            reason = draw(st.sampled_from(["closed by server", "watchdog: silent 150 s", ""]))
            statuses.append(FeedStatus(ts=t_down, connected=False, reason=reason))
            if up <= n:
                t_up = session.open + up * M5
                statuses.append(FeedStatus(ts=t_up, connected=True))
                cut.append((t_down, t_up))
            else:
                cut.append((t_down, session.close))
        days.append((session, per_symbol))
    events = events_for(days)
    events = [e for e in events if not (isinstance(e, Bar) and any(a <= e.ts < b for a, b in cut))]
    for status in statuses:  # before the bars of its instant
        i = next((j for j, e in enumerate(events) if e.ts >= status.ts), len(events))
        events.insert(i, status)
    cfg = config_from_dict(
        {
            "symbols": list(symbols),
            "seed": draw(st.integers(0, 99)),
            "validation": {"enabled": draw(st.booleans())},
            "strategy": {"allow_short": draw(st.booleans())},
            "exchange": {"preset": draw(st.sampled_from(["optimistic", "base"]))},
            "feed": {"stale_seconds": draw(st.sampled_from([30, 60, 120, 300, 900]))},
        }
    )
    return cfg, events


def thinned(draw, events: list[Event]) -> list[Event]:
    """Prints with a few stretches of one symbol's prints taken out: all of them, or the late ones
    of each bar (its bars then close on data 200 s old)."""
    out = as_prints(events)
    trades = [e for e in out if isinstance(e, Trade)]
    if trades and draw(st.booleans()):  # one symbol's bars all close on data 200 s old
        first = trades[0]
        out = [e for e in out if not _dropped(e, first, 1 << 62, tail=True)]
    for _ in range(draw(st.integers(0, 4))):
        if not trades:
            break
        pivot = draw(st.sampled_from(trades))
        span = draw(st.integers(1, 20_000)) * NS_PER_SECOND
        tail = draw(st.booleans())  # only the prints 200 s or more into their bar
        out = [e for e in out if not _dropped(e, pivot, span, tail)]
    return out


def clocked(events: list[Event]) -> list[Event]:
    """``events`` with a ``Clock`` at every 5m boundary of their sessions, as the live shell sends
    them (so bars close, and entries are decided, while the feed is down and silent)."""
    days = {SESSIONS.session_at(e.ts) for e in events if isinstance(e, Bar | Trade)}
    ticks = sorted(t for s in days if s is not None for t in range(s.open + M5, s.close, M5))
    out: list[Event] = []
    i = 0
    for event in events:
        while i < len(ticks) and ticks[i] <= event.ts:
            out.append(Clock(ts=ticks[i]))
            i += 1
        out.append(event)
    return out


def _dropped(e: Event, pivot: Trade, span: int, tail: bool) -> bool:
    return (
        isinstance(e, Trade)
        and e.symbol == pivot.symbol
        and pivot.ts <= e.ts < pivot.ts + span
        and (not tail or e.ts % M5 >= 200 * NS_PER_SECOND)
    )


def run(cfg, events, state=None):
    state = new_state(cfg, SESSIONS) if state is None else state
    actions = []
    for event in events:
        state, out = step(state, event)
        actions.extend(out)
    return state, actions


# -- no entry on a stale symbol, none while down -------------------------------------------------


class NaiveModel:
    """The rule from its definition, for every entry: the data seen before the event that placed it.

    Its floor is the later of the session open and the first data after *any* reconnect; the
    engine's (the end of an outage that was a gap) is never later, so whatever the engine lets
    through, this model must call fresh too.
    """

    def __init__(self, stale_seconds: float) -> None:
        self.stale_ns = round(stale_seconds * NS_PER_SECOND)
        self.last: dict[str, int] = {}
        self.newest = 0
        self.down = False
        self.awaiting = False
        self.resumed = 0

    def see(self, symbol: str, first: int, last: int) -> None:
        self.last[symbol] = max(self.last.get(symbol, 0), last)
        self.newest = max(self.newest, last)
        if self.awaiting:
            self.awaiting, self.resumed = False, first

    def update(self, event: Event) -> None:
        match event:
            case Trade():
                self.see(event.symbol, event.ts, event.ts)
            case Bar():
                self.see(event.symbol, event.ts, event.ts + LAST_POINT)
            case BarSlice():
                for bar in event.bars:
                    self.see(bar.symbol, bar.ts, bar.ts + LAST_POINT)
            case FeedStatus():
                if event.connected and self.down:
                    self.awaiting = True
                self.down = not event.connected

    def may_enter(self, symbol: str, ts: int) -> bool:
        session = SESSIONS.session_at(ts)
        assert session is not None
        floor = max(session.open, self.resumed, self.last.get(symbol, 0))
        return not self.down and self.newest - floor <= self.stale_ns


def entries_checked(cfg, events) -> tuple[int, int]:
    """Run ``events``; every entry placed must pass the naive model. Returns (entries, gate vetoes)."""
    model = NaiveModel(cfg.feed.stale_seconds)
    state = new_state(cfg, SESSIONS)
    entries = vetoes = 0
    for event in events:
        state, actions = step(state, event)
        for a in actions:
            if isinstance(a, OrderAccepted) and a.order is not None and a.order.tag == "entry":
                entries += 1
                assert model.may_enter(a.order.symbol, a.order.ts), (a.order, model.last, model.newest)
            if isinstance(a, SignalEvaluated) and any(
                v.startswith(("feed", "opening range")) for v in a.vetoes
            ):
                vetoes += 1
                assert not a.accepted
        model.update(event)
    return entries, vetoes


@PROPS
@given(markets(), st.data())
def test_no_entry_is_placed_on_a_stale_symbol_or_while_the_feed_is_down(market, data):
    cfg, events = market
    entries_checked(cfg, events)  # bar mode, one Bar event per symbol
    entries_checked(cfg, as_slices(events))  # bar mode, as a backtest sends them
    prints = thinned(data.draw, events)
    entries_checked(cfg, prints)  # prints, some stretches missing
    entries_checked(cfg, clocked(prints))  # ... with the live shell's Clocks


def test_the_properties_see_entries_and_every_kind_of_veto():
    """Guard: the generated markets do trade and do trip each rule of the gate."""
    kinds: set[str] = set()
    entries = 0

    @settings(
        max_examples=80,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(markets(), st.data())
    def collect(market, data):
        nonlocal entries
        cfg, events = market
        for stream in (events, clocked(thinned(data.draw, events))):
            _, actions = run(cfg, stream)
            entries += sum(
                isinstance(a, OrderAccepted) and a.order is not None and a.order.tag == "entry"
                for a in actions
            )
            for a in actions:
                if isinstance(a, SignalEvaluated):
                    kinds.update(v.split(":")[0] for v in a.vetoes if v.startswith(("feed", "opening")))

    collect()
    assert entries > 0
    assert kinds == {"feed stale", "feed down", "opening range incomplete"}


# -- exits, stops and the flatten while the feed is down ---------------------------------------


@PROPS
@given(markets(outages=False), st.data())
def test_exits_stops_and_the_flatten_are_never_blocked(market, data):
    cfg, events = market
    cfg = config_from_dict({**_dict(cfg), "risk": {"daily_loss_halt_pct": 1.0}})  # (no halt: exits only)
    sessions_seen = sorted(
        {SESSIONS.session_at(e.ts) for e in events if isinstance(e, Bar)}, key=lambda s: s.open
    )
    session = data.draw(st.sampled_from(sessions_seen))
    down_at = session.open + data.draw(st.integers(4, 76)) * M5
    down = FeedStatus(ts=down_at, connected=False, reason="closed by server")
    i = next((j for j, e in enumerate(events) if e.ts >= down_at), len(events))
    with_down = [*events[:i], down, *events[i:]]
    for stream in (with_down, as_prints(with_down)):
        base_events = [e for e in stream if not isinstance(e, FeedStatus)]
        _, base = run(cfg, base_events)
        state = new_state(cfg, SESSIONS)
        actions = []
        for event in stream:
            state, out = step(state, event)
            actions.extend(out)
            if isinstance(event, Clock) and SESSIONS.sessions[state.session_index].close == event.ts:
                assert not state.portfolio.positions  # flattened (or exited) by the close
        assert not any(
            isinstance(a, OrderAccepted)
            and a.order is not None
            and a.order.tag == "entry"
            and a.order.ts > down_at
            for a in actions
        )
        opened = {_entry_key(a.order) for a in actions if _is_entry(a) and a.order.ts < down_at}
        exits = [_fill(a) for a in actions if _is_exit(a) and (a.fill.symbol, _date(a.fill.ts)) in opened]
        expected = [_fill(a) for a in base if _is_exit(a) and (a.fill.symbol, _date(a.fill.ts)) in opened]
        assert exits == expected


def _dict(cfg):
    from vibe_core.config import config_to_dict

    return config_to_dict(cfg)


def _date(ts):
    return SESSIONS.sessions[SESSIONS.last_index_at_or_before(ts)].date


def _is_entry(a):
    return isinstance(a, OrderAccepted) and a.order is not None and a.order.tag == "entry"


def _entry_key(order):
    return order.symbol, _date(order.ts)


def _is_exit(a):
    return isinstance(a, Filled) and a.fill.tag in ("stop", "target")


def _fill(a):
    f = a.fill
    return f.ts, f.symbol, f.side, f.qty, f.price, f.tag


# -- a replay of the log reproduces every decision ---------------------------------------------


@PROPS
@given(markets(), st.data())
def test_a_replay_of_the_log_and_a_restart_reproduce_every_gate_decision(market, data):
    cfg, events = market
    stream = thinned(data.draw, events) if data.draw(st.booleans()) else as_slices(events)
    _, expected = run(cfg, stream)
    logged = [event_from_dict(json.loads(json.dumps(event_to_dict(e)))) for e in stream]
    _, replayed = run(cfg, logged)
    assert replayed == expected
    cut = data.draw(st.integers(0, len(stream)))
    state, first = run(cfg, stream[:cut])
    restored = load_state(json.loads(json.dumps(save_state(state))), SESSIONS)
    _, rest = run(cfg, stream[cut:], restored)
    assert first + rest == expected


# -- bar mode and print mode decide alike -----------------------------------------------------


def records(cfg, events):
    """Orders, fills, cancels, trades and verdicts per symbol in order; the gaps as a sorted list."""
    _, actions = run(cfg, events)
    gaps = sorted((g for g in actions if isinstance(g, FeedGap)), key=lambda g: (g.end, g.symbol, g.start))
    return per_symbol(actions, cfg.symbols), gaps


@PROPS
@given(markets(n_symbols=2))
def test_bar_mode_and_print_mode_decide_alike_with_gaps_and_outages(market):
    cfg, events = market
    from_bars = records(cfg, as_slices(events))
    from_prints = records(cfg, as_prints(events))
    assert from_prints == from_bars
