"""The aggregator's snapshot: its state as JSON-safe dicts, and an aggregator rebuilt from them.

State: none: pure functions of a :class:`~vibe_core.bars.aggregator.BarAggregator` or its
snapshot.
Consumes: an aggregator (:func:`snapshot`), a snapshot and the session table (:func:`restore`).
Emits: a dict of plain values tagged with :data:`SNAPSHOT_FORMAT`; a new aggregator.
Invariants: ``restore(snapshot(agg))`` continues exactly like ``agg``; saving changes nothing;
a snapshot of another format is refused with a clear error.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from vibe_core.bars.aggregator import BarAggregator
from vibe_core.bars.forming import Forming, SymbolState
from vibe_core.calendar import SessionTable
from vibe_core.types import Timeframe

__all__ = ["snapshot", "restore", "SNAPSHOT_FORMAT"]

SNAPSHOT_FORMAT: Final = 2  #: 2: each level folds into the next only (1 folded base bars into all)


def snapshot(agg: BarAggregator) -> dict[str, Any]:
    """JSON-safe state; :func:`restore` continues exactly from it."""
    symbols = []
    for sym in agg._symbols.values():
        forming: list[dict[str, Any] | None] = []
        for fb in sym.forming:
            if fb is None:
                forming.append(None)
            else:
                forming.append(attrs.asdict(fb, recurse=False))
        symbols.append({"symbol": sym.name, "seen_end": sym.seen_end, "forming": forming})
    return {
        "format": SNAPSHOT_FORMAT,
        "timeframes": [tf.label for tf in agg.timeframes],
        "trade_source": agg.trade_source,
        "late_prints": agg.late_prints,
        "outside_session": agg.outside_session,
        "now": agg._now,
        "symbols": symbols,
    }


def restore(data: dict[str, Any], sessions: SessionTable) -> BarAggregator:
    """The aggregator ``data`` (a :func:`snapshot`) describes, on ``sessions``."""
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(
            f"bar aggregator snapshot format {data.get('format')!r}, this version reads {SNAPSHOT_FORMAT}"
            " (a forming higher bar holds only the completed bars of the level below it)"
        )
    agg = BarAggregator(
        sessions=sessions,
        timeframes=tuple(Timeframe.parse(label) for label in data["timeframes"]),
        trade_source=data["trade_source"],
        late_prints=data["late_prints"],
        outside_session=data["outside_session"],
    )
    agg._now = data["now"]
    for item in data["symbols"]:
        forming = [None if f is None else Forming(**f) for f in item["forming"]]
        if len(forming) != len(agg.timeframes):
            raise ValueError(f"snapshot of {item['symbol']} has {len(forming)} forming slots")
        sym = SymbolState(item["symbol"], forming, item["seen_end"])
        agg._symbols[sym.name] = sym
        if forming[0] is not None:
            agg._base[sym.name] = forming[0]
    agg._next_due = agg._earliest_end()
    return agg
