"""A replay through the journal without the service: ``--clock feed`` as one synchronous loop.

:func:`replay_into` does what the service does with a replay feed in ``--clock feed`` mode, minus
the tasks: each frame of the bars' prints (:mod:`vibe_live.feeds.replay`) is logged and applied
as one group, preceded by a ``Clock`` at every deadline of the core (``next_deadline``) that falls
strictly before the frame, and followed, once the data is exhausted, by the remaining deadlines
through the last session's close. It makes stores for tests, benchmarks and notebooks (export and
audit a session without starting a service).
"""

from __future__ import annotations

from collections.abc import Iterable

from vibe_core.engine import next_deadline
from vibe_core.events import Bar, Clock, Event
from vibe_live.feeds.replay import frames_of, replay_prints
from vibe_live.recovery import Journal

__all__ = ["replay_into", "clocks_until"]


def clocks_until(journal: Journal, until: int, *, inclusive: bool = False) -> int:
    """Feed a ``Clock`` at each deadline before ``until`` (or at it, when ``inclusive``); their number.

    A Clock at a deadline does some work or moves the deadline later (``next_deadline``'s
    contract); one that moves nothing ends the loop rather than repeat forever.
    """
    sent = 0
    last = None
    while (due := next_deadline(journal.state)) is not None and (due <= until if inclusive else due < until):
        if due == last:
            break
        journal.feed([Clock(ts=due)])
        last = due
        sent += 1
    return sent


def replay_into(
    journal: Journal, bars: Iterable[Bar], *, commands: Iterable[Event] = (), finish: bool = True
) -> int:
    """Replay time-ordered ``bars`` as prints through ``journal`` (see the module doc); prints fed.

    No Clock is sent before the first frame: time starts with the data (a fresh engine's first
    deadline is the first session of its calendar). ``commands`` (operator events, time-ordered)
    go in as the service logs them: each after the deadlines before it and before the first frame
    at or after its time. ``finish=False`` stops with the last frame, as a service stopped
    mid-session would (no closing deadlines).
    """
    fed = 0
    last_ts: int | None = None
    waiting = list(commands)
    for frame in frames_of(replay_prints(bars)):
        t = frame[0].ts
        while waiting and waiting[0].ts <= t:
            command = waiting.pop(0)
            if last_ts is not None:
                clocks_until(journal, command.ts)
            journal.feed([command])
        if last_ts is not None:
            clocks_until(journal, t)
        journal.feed(frame)
        fed += len(frame)
        last_ts = t
    if last_ts is not None and finish:
        session = journal.state.sessions.session_at(last_ts)
        if session is not None:
            clocks_until(journal, session.close, inclusive=True)
    return fed
