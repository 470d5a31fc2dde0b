"""A closed bar as the indicator bank keeps it until it feeds it to talipp: a plain tuple.

State: none (a value type).
Consumes: nothing.
Emits: nothing.
Invariants: its fields are a ``Bar``'s, less the symbol and timeframe (the key it is kept under).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Row"]


class Row(NamedTuple):
    """A closed bar waiting in the bank (its symbol and timeframe are its pending list's key).

    Indicators read it by attribute, as a bar (ATR and VWAP read ``.open .. .volume``): a step's
    closed bars wait as they are, and a tuple is what the backtest's catch-up can build in bulk
    (:meth:`IndicatorBank.extend`) for the bars it never builds."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    source: str
    ts_recv: int | None = None
