"""Seeded, counter-based random draws: the only source of randomness in the simulated venue.

State: none: pure functions.
Consumes: ``(seed, key, index)``.
Emits: a float in [0, 1) (:func:`uniform`), an int in a closed range (:func:`integer`).
Invariants: the same arguments always give the same draw, on every platform and Python run (a
BLAKE2b hash, not ``random`` or ``hash()``).

A draw is a pure function of ``(seed, key, index)``: ``key`` names what draws (an order id) and
``index`` counts its draws. Nothing is stored but the counter, so a replay or a restart from a
snapshot reproduces every draw exactly, and draws of one order never shift another's.
"""

from __future__ import annotations

import hashlib

__all__ = ["uniform", "integer"]

_SCALE = 2.0**-53


def uniform(seed: int, key: str, index: int) -> float:
    """A float in [0, 1) from a BLAKE2b hash of the three values (53 random bits)."""
    digest = hashlib.blake2b(f"{seed}:{index}:{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) * _SCALE


def integer(seed: int, key: str, index: int, low: int, high: int) -> int:
    """An int uniform over ``low..high`` inclusive."""
    if high < low:
        raise ValueError(f"empty range {low}..{high}")
    return low + int(uniform(seed, key, index) * (high - low + 1))
