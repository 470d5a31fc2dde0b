"""The core's two exceptions: a broken invariant of our own, and a snapshot it cannot read.

State: none: two exception types.
Consumes: nothing.
Emits: :class:`InvariantViolation` (raised by the core on a bug of its own) and
:class:`SnapshotError` (raised by ``load_state``).
Invariants: neither is raised for bad input from outside: that is an ``EventRejected`` record.

Bad input from outside (a feed's malformed print, a broker's fill for an unknown order) is never
an exception: :func:`vibe_core.engine.step` refuses it with an
:class:`~vibe_core.actions.EventRejected` record and leaves the state untouched.
"""

from __future__ import annotations

__all__ = ["InvariantViolation", "SnapshotError"]


class InvariantViolation(RuntimeError):
    """Something the core guarantees itself does not hold: a bug, to crash on loudly."""


class SnapshotError(ValueError):
    """A saved engine state this version cannot load (unknown or missing schema, bad content)."""
