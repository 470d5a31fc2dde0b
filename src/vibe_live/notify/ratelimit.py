"""Pacing for a webhook: a request window, the server's own headers, a process-wide global gate.

:class:`RequestWindow` lets at most ``limit`` requests start in any ``period`` seconds (the strict
form of Discord's 5-per-2-s webhook bucket: a sliding window never allows the 2x burst a refilling
bucket does at a window's edge). :class:`Gate` holds requests until a time: one per webhook for
``X-RateLimit-Remaining: 0`` / ``Reset-After`` and a route 429, one for the whole process
(:data:`GLOBAL_GATE`) for a 429 with ``global: true``. :func:`backoff` is the jittered exponential
delay after a 5xx or a network error.
"""

from __future__ import annotations

import random
import time
from collections import deque

import anyio

__all__ = ["RequestWindow", "Gate", "GLOBAL_GATE", "backoff"]


class Gate:
    """Closed until a monotonic time; :meth:`wait` sleeps until it opens."""

    def __init__(self) -> None:
        self.until = 0.0

    def close_for(self, seconds: float) -> None:
        self.until = max(self.until, time.monotonic() + max(seconds, 0.0))

    async def wait(self) -> None:
        while (left := self.until - time.monotonic()) > 0:
            await anyio.sleep(left)


GLOBAL_GATE = Gate()  #: Discord's global limit is per IP: every webhook of the process waits on it


class RequestWindow:
    """At most ``limit`` request starts in any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        if limit <= 0 or period <= 0:
            raise ValueError(f"a request window needs limit > 0 and period > 0, got {limit} per {period}")
        self.limit, self.period = limit, period
        self._starts: deque[float] = deque(maxlen=limit)

    async def acquire(self) -> None:
        """Wait for a free slot, then take it (the request starts now)."""
        while (
            len(self._starts) == self.limit and (left := self._starts[0] + self.period - time.monotonic()) > 0
        ):
            await anyio.sleep(left)
        self._starts.append(time.monotonic())


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after the ``attempt``-th failure in a row (from 1): half fixed, half jitter."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
