"""The service's time sources for ``--clock wall``: the real wall clock, or a replay's scaled one.

A clock says what time it is (ns UTC, the time prints are stamped with) and how many wall seconds
remain until a given time, so the service can sleep until the core's next deadline or the next
frame, whichever comes first (it never polls). ``--clock feed`` needs no clock: time is the
prints' own.

:class:`ReplayClock` runs feed time ``speed`` times faster than the wall clock from an anchor (the
first frame it paces); :meth:`ReplayClock.jump` moves the anchor, which is how a replay skips the
hours the market is closed instead of sleeping through them.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

__all__ = ["ServiceClock", "WallClock", "ReplayClock"]


class ServiceClock(Protocol):
    def now(self) -> int:
        """The current time, ns UTC."""
        ...

    def seconds_until(self, ts: int) -> float:
        """Wall seconds until the clock reads ``ts`` (<= 0 when it is already past)."""
        ...


class WallClock:
    """The real time (``time.time_ns``)."""

    def now(self) -> int:
        return time.time_ns()

    def seconds_until(self, ts: int) -> float:
        return (ts - time.time_ns()) / 1e9


class ReplayClock:
    """Feed time at ``speed`` x wall time, anchored at the first :meth:`anchor` (or :meth:`jump`)."""

    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be > 0, got {speed!r}")
        self.speed = speed
        self._wall0: float | None = None
        self._feed0 = 0

    @property
    def anchored(self) -> bool:
        return self._wall0 is not None

    def anchor(self, ts: int) -> None:
        """Start the clock at ``ts`` now, unless it already runs."""
        if self._wall0 is None:
            self.jump(ts)

    def jump(self, ts: int) -> None:
        """Make the clock read ``ts`` now (and run on from there)."""
        self._wall0, self._feed0 = time.monotonic(), ts

    def now(self) -> int:
        if self._wall0 is None:
            return self._feed0
        return self._feed0 + int((time.monotonic() - self._wall0) * self.speed * 1e9)

    def seconds_until(self, ts: int) -> float:
        if self._wall0 is None:
            return math.inf  # not started: nothing is due yet
        return (ts - self.now()) / 1e9 / self.speed
