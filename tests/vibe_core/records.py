"""The per-symbol record sequences that bar mode and print mode must agree on (test support)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vibe_core.actions import SignalEvaluated, TradeClosed
from vibe_core.events import Filled, OrderAccepted, OrderCancelled


def symbol_of(record: Any) -> str:
    if isinstance(record, Filled):
        return record.fill.symbol
    if isinstance(record, TradeClosed):
        return record.trade.symbol
    if isinstance(record, SignalEvaluated):
        return record.signal.symbol
    if isinstance(record, OrderCancelled):
        return record.order_id.split("-")[0]
    return str(record.symbol)


def per_symbol(actions: Iterable[Any], symbols: Sequence[str]) -> dict[str, list[Any]]:
    """Orders placed, fills, cancels, closed trades and verdicts, in order, per symbol."""
    kept: list[Any] = []
    for a in actions:
        if isinstance(a, Filled | OrderCancelled | TradeClosed | SignalEvaluated):
            kept.append(a)
        elif isinstance(a, OrderAccepted):
            kept.append(a.order)
    return {sym: [r for r in kept if symbol_of(r) == sym] for sym in symbols}
