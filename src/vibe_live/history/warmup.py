"""Warm-up: how much history the config needs, and the logged ``Bar`` events that give it.

State: none (functions).
Consumes: the core's config (its indicator specs, the validator's 1h swing history, the volume
baseline), the session table, the bars fetched from Yahoo, the engine's time.
Emits: :class:`WarmupPlan` (bars per timeframe, sessions, the first instant to fetch) and the warm-up
events: a ``Pause("warm-up")``, the 5m ``Bar`` s in time order stamped with their source
(``"yahoo"``), a ``Resume``.
Invariants: nothing is hard-coded: the need comes from the config (each indicator's
:func:`~vibe_core.indicators.min_history` plus the one previous value rules read, the validator's
1h history, ``volume_sma_period + 1`` bars for the volume baseline). Every warm-up bar ends at or
before ``until`` (the first live data) and opens at or after everything the engine has already seen,
so none is stale or fed twice. The past sessions the bars replay take no entry (the Pause: every
signal is vetoed ``risk: trading paused``); an operator's pause is left alone.

Volume: the validator's volume rule compares a bar only with the ``volume_sma_period`` bars before it
when all of them come from the same source (``vibe_core.validation``), so Yahoo's consolidated
volume never becomes the baseline of Finnhub's IEX-only bars: the live source's baseline starts with
its own bars. Sessions the archive holds in the live source (``5m-finnhub``) are taken from there
instead of Yahoo, so after a restart the baseline is warm at the open when the previous session was
archived.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import attrs

from vibe_backtest.data import BarSeries, iter_bars
from vibe_core.calendar import SessionTable
from vibe_core.config import Config
from vibe_core.engine import EngineState, new_state
from vibe_core.events import Bar, Event, Pause, Resume
from vibe_core.indicators import min_history
from vibe_core.types import Timeframe

__all__ = ["WARMUP_REASON", "WarmupPlan", "warmup_plan", "warmup_bars", "warmup_events", "covered_end"]

WARMUP_REASON: Final = "warm-up"  #: the reason of the Pause around the warm-up bars
_M5 = Timeframe.M5


@attrs.frozen
class WarmupPlan:
    """What the indicators need before ``until``: bars per timeframe, whole sessions, from when."""

    bars: dict[Timeframe, int]  #: closed bars each timeframe needs
    sessions: int  #: whole sessions that give them (plus the one in progress)
    start_ns: int  #: open of the first session to fetch


def _needs(config: Config, sessions: SessionTable) -> dict[Timeframe, int]:
    state = new_state(config, sessions)
    need: dict[Timeframe, int] = {}
    for spec in state.indicators.specs:  # strategy and validation specs (volume SMA included)
        need[spec.timeframe] = max(need.get(spec.timeframe, 0), min_history(spec) + 1)
    if state.validator.config.enabled and state.validator.history_1h:
        need[Timeframe.H1] = max(need.get(Timeframe.H1, 0), state.validator.history_1h)
    return need


def warmup_plan(config: Config, sessions: SessionTable, until_ns: int) -> WarmupPlan:
    """The sessions before ``until_ns`` that hold the history ``config`` needs (see the module doc)."""
    need = _needs(config, sessions)
    last = sessions.last_index_at_or_before(until_ns)
    if last < 0:
        raise ValueError(f"no session at or before {until_ns}: the calendar starts later")
    day = sessions.sessions[last]
    minutes = day.close - day.open
    count = 0
    for tf, bars in need.items():
        per_session = math.ceil(minutes / tf.ns)
        count = max(count, math.ceil(bars / per_session))
    first = max(0, last - count)  # whole sessions before the one ``until`` falls in (or follows)
    return WarmupPlan(bars=need, sessions=count, start_ns=sessions.sessions[first].open)


def covered_end(sessions: SessionTable, until_ns: int) -> int:
    """The end of the last 5m bar that can have ended by ``until_ns``: in a session, the last 5m
    boundary past its first bar; else (or in the first bar) the previous session's close."""
    session = sessions.session_at(until_ns)
    if session is not None and until_ns >= session.open + _M5.ns:
        return session.open + (until_ns - session.open) // _M5.ns * _M5.ns
    i = sessions.last_index_at_or_before(until_ns - 1 if session is None else session.open - 1)
    return sessions.sessions[i].close if i >= 0 else until_ns


def warmup_bars(
    series: Mapping[str, BarSeries],
    *,
    start_ns: int,
    until_ns: int,
    own: Mapping[str, BarSeries] | None = None,
    sessions: SessionTable | None = None,
) -> list[Bar]:
    """The 5m bars with ``start_ns <= ts`` and ``ts + 5m <= until_ns``, every symbol, in time order.

    ``own``: the service's archived bars (its live source). A symbol's session comes from them
    instead of ``series`` when they hold at least as many of its bars: the last sessions before the
    live data then give the live source's own volume baseline (a session is never half one source).
    """
    last_open = until_ns - _M5.ns + 1  # exclusive bound on the open
    if last_open <= start_ns:
        return []
    bars = list(iter_bars({sym: s.between(start_ns, last_open) for sym, s in series.items()}))
    if not own or sessions is None:
        return bars
    mine = list(iter_bars({sym: s.between(start_ns, last_open) for sym, s in own.items()}))
    counts: dict[tuple[str, int, bool], int] = {}
    for is_own, group in ((False, bars), (True, mine)):
        for bar in group:
            key = (bar.symbol, sessions.last_index_at_or_before(bar.ts), is_own)
            counts[key] = counts.get(key, 0) + 1

    def use_own(bar: Bar) -> bool:
        day = sessions.last_index_at_or_before(bar.ts)
        return counts.get((bar.symbol, day, True), 0) >= max(1, counts.get((bar.symbol, day, False), 0))

    order = {sym: i for i, sym in enumerate([*series, *(s for s in own if s not in series)])}
    chosen = [b for b in bars if not use_own(b)] + [b for b in mine if use_own(b)]
    chosen.sort(key=lambda b: (b.ts, order[b.symbol]))
    return chosen


def warmup_events(state: EngineState, bars: list[Bar], *, paused_by_warmup: bool = False) -> list[Event]:
    """``bars`` wrapped in a ``Pause(warm-up)`` and a ``Resume`` unless something else paused trading.

    ``paused_by_warmup``: the log's last pause is a warm-up's with no Resume (a crash mid warm-up):
    this warm-up ends it.
    """
    if not bars:
        return [Resume(ts=state.now)] if paused_by_warmup else []
    events: list[Event] = []
    ours = paused_by_warmup or not state.risk.paused
    if ours and not state.risk.paused:
        events.append(Pause(ts=bars[0].ts, reason=WARMUP_REASON))
    events += bars
    if ours:
        events.append(Resume(ts=bars[-1].ts))
    return events
