"""Bar aggregation: trade prints (or small bars) -> complete 5m, 15m and 1h bars.

State: :class:`BarAggregator`, owned by the engine: per symbol the forming bar of each tracked
timeframe, the latest time seen, the earliest end among forming bars (``next_due``) and counters of
ignored prints.
Consumes: ``Trade`` prints (:meth:`~BarAggregator.on_trade`), complete input ``Bar`` s
(:meth:`~BarAggregator.on_bar`; a step's bars at once: ``on_bars``, ``on_slice``), ``Clock``
(:meth:`~BarAggregator.on_clock`).
Emits: complete ``Bar`` s, ordered by end time, then timeframe (ascending), then symbol (in the
order symbols were first seen).
Invariants: bars are aligned to the session open (09:30 ET whatever the DST) and end at
``min(start + timeframe, session close)``; a bar is emitted only once complete, by the first event
at or after its end; empty intervals make no bar; a higher-timeframe bar is the fold of the
first-timeframe bars inside it and carries their ``source``; ``restore(snapshot())`` continues
exactly like the original.

Modules: :mod:`~vibe_core.bars.aggregator` (the event paths), :mod:`~vibe_core.bars.forming`
(the private records and their public form), :mod:`~vibe_core.bars.persist` (snapshot/restore).

Theory of operation:

Time is global. An event stamped t (a print or a bar of any symbol, or a Clock) first closes
every forming bar whose end is <= t, whatever its symbol. The earliest such end is cached in
``_next_due``, so an event that closes nothing costs one comparison.

Only the first timeframe (the "base", 5m) is built from prints or from input bars below it
(1m). A completed bar is folded into the forming bar of the next timeframe only (5m into 15m,
15m into 1h: the timeframes divide each other and share the session-open grid, so a 1h bar is
the fold of its 15m bars), so a print touches exactly one forming bar and a 5m bar one more.
Because a higher bar contains whole lower bars and ends at or after them, closing in
(end, timeframe) order folds every lower bar in before the bar that contains it is emitted.

Bar mode: an input bar is complete, so after closing what is due at its open, the bars of its own
symbol that end by the input's end go out at once (a 5m input is itself one of them). Bars of
other symbols ending then still wait for an event at or after their end: their own input bar
for that interval may be next in the feed.

The hot path of ``on_trade`` is: one comparison against ``_next_due``, one dict lookup of the
symbol's forming base bar, four attribute updates. A forming bar lies inside one session and
ends after the current time, so a print inside it needs no calendar lookup; only a print that
opens a new bar asks the session cache (``_lo <= ts < _hi``), which bisects the session table
only when ts leaves the cached session or gap.

A print is late when its bar has already closed: its end is at or before the latest time seen.
That covers prints older than their symbol's forming bar or last emitted bar, and prints of a
quiet symbol arriving after another symbol's event closed their interval.
"""

from __future__ import annotations

from typing import assert_never

from vibe_core.bars.aggregator import DEFAULT_TIMEFRAMES, BarAggregator
from vibe_core.bars.forming import checked_bar, checked_bars
from vibe_core.bars.persist import SNAPSHOT_FORMAT
from vibe_core.events import Bar, Clock, Trade

__all__ = ["BarAggregator", "step", "checked_bar", "checked_bars", "DEFAULT_TIMEFRAMES", "SNAPSHOT_FORMAT"]


def step(state: BarAggregator, event: Trade | Bar | Clock) -> tuple[BarAggregator, list[Bar]]:
    """The reducer shape: the (same, updated) aggregator and the bars this event completed."""
    match event:
        case Trade():
            return state, state.on_trade(event)
        case Bar():
            return state, state.on_bar(event)
        case Clock():
            return state, state.on_clock(event.ts)
        case _:
            assert_never(event)
