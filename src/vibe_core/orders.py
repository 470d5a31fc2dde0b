"""The order lifecycle as a table: every legal ``(status, input) -> status`` in one place.

State: none; an order's :class:`~vibe_core.types.OrderStatus` is owned by whoever tracks the order
(the simulated venue's :class:`~vibe_core.sim.book.Book`), which moves it only through
:func:`transition`.
Consumes: lifecycle inputs (:data:`INPUTS`).
Emits: the next status, or raises :class:`InvalidTransition` (a broken invariant, never a
business outcome: a rejected order is ``REJECTED``, not an exception).
Invariants: ``FILLED``, ``CANCELLED`` and ``REJECTED`` are terminal (they accept no input); fills
need a working order; ``PENDING`` orders are not matched.

# Theory of operation
Every order arrives ``PENDING``. The venue either rejects it, or accepts it; with no fill delay
it is active at once (``accept``: ``ACCEPTED``); with a delay it stays ``PENDING`` until the delay
has passed (``activate``: at its first point, or a clock tick, at or after that time). Working
orders fill in parts (``fill_partial``) or completely (``fill_full``), and are cancelled by the
owner or by the other leg of a one-cancels-other pair (``cancel``) or at their session's close
(``expire``).
"""

from __future__ import annotations

from typing import Final

from vibe_core.errors import InvariantViolation
from vibe_core.types import OrderStatus

__all__ = ["INPUTS", "TRANSITIONS", "TERMINAL", "InvalidTransition", "transition", "is_terminal"]

_P = OrderStatus.PENDING
_A = OrderStatus.ACCEPTED
_PF = OrderStatus.PARTIALLY_FILLED
_F = OrderStatus.FILLED
_C = OrderStatus.CANCELLED
_R = OrderStatus.REJECTED

INPUTS: Final = ("accept", "activate", "reject", "fill_partial", "fill_full", "cancel", "expire")

TRANSITIONS: Final[dict[tuple[OrderStatus, str], OrderStatus]] = {
    (_P, "accept"): _A,  # accepted and active at once (no fill delay)
    (_P, "activate"): _A,  # accepted earlier; its fill delay has passed
    (_P, "reject"): _R,
    (_P, "cancel"): _C,
    (_P, "expire"): _C,
    (_A, "fill_partial"): _PF,
    (_A, "fill_full"): _F,
    (_A, "cancel"): _C,
    (_A, "expire"): _C,
    (_PF, "fill_partial"): _PF,
    (_PF, "fill_full"): _F,
    (_PF, "cancel"): _C,
    (_PF, "expire"): _C,
}

TERMINAL: Final = frozenset({_F, _C, _R})


class InvalidTransition(InvariantViolation):
    """An input the lifecycle does not allow in this status: a bug in the caller."""

    def __init__(self, status: OrderStatus, event: str) -> None:
        super().__init__(f"order in status {status.value!r} cannot take {event!r}")
        self.status = status
        self.event = event


def transition(status: OrderStatus, event: str) -> OrderStatus:
    """The status after ``event``; raises :class:`InvalidTransition` when the table has no entry."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL
