"""When the core next has work without market data: the live shell's timer.

State: none (reads :class:`~vibe_core.engine.state.EngineState`).
Consumes: nothing.
Emits: :func:`next_deadline`, a time (ns UTC) or ``None``.
Invariants: a ``Clock`` at any time from the state's ``now`` up to (not including) the deadline
changes nothing but the state's notion of the time and emits nothing; a ``Clock`` at the deadline
does some work, or moves the deadline later. A deadline at or before ``now`` means work is due at
once.
"""

from __future__ import annotations

from vibe_core.engine.session import next_wake
from vibe_core.engine.state import EngineState

__all__ = ["next_deadline"]

_FAR = 1 << 62


def next_deadline(state: EngineState) -> int | None:
    """The earliest of: the end of a forming bar (or of the deferred input bars), the flatten time,
    the session close, the next session open, and a working order's activation or expiry at the
    simulated venue. ``None`` when none of these is ahead (the calendar has ended)."""
    times = [next_wake(state, state.now), state.bars.next_close]
    if state.deferred:
        times.append(min(bar.end for bar in state.deferred))
    if state.venue is not None:
        venue_due = state.venue.next_deadline()
        if venue_due is not None and venue_due > state.now:  # (an activation already due waits for a point)
            times.append(venue_due)
    earliest = min(times)
    return None if earliest >= _FAR else earliest
