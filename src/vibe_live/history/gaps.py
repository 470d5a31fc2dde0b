"""Feed gaps seen in a session's log: what the shell can tell today, for the backfill.

State: none (a read-only connection to the store per call: never blocks the writer).
Consumes: the logged ``Trade`` prints and ``FeedStatus`` events of one session.
Emits: :data:`Gap` s ``(symbol, start_ns, end_ns)``, merged per symbol and clipped to the session:
- a symbol silent longer than ``min_seconds`` inside the session (from the open to its first print,
  between two prints, from its last print to the close);
- the feed down (``FeedStatus(connected=False)`` to the next ``connected=True``, or the close)
  longer than ``min_seconds``: a gap of every symbol.
Invariants: the backfill takes any ``(symbol, start, end)``, so the core's own gap records (the
staleness gate) can drive it the same way.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeAlias

from vibe_core.calendar import Session

__all__ = ["Gap", "find_gaps", "merge_gaps"]

Gap: TypeAlias = tuple[str, int, int]  #: (symbol, start ns, end ns), end exclusive
_NS = 10**9


def merge_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    """Overlapping or touching gaps of a symbol as one; sorted by symbol, then start."""
    out: list[Gap] = []
    for symbol, start, end in sorted(gaps):
        if out and out[-1][0] == symbol and start <= out[-1][2]:
            out[-1] = (symbol, out[-1][1], max(out[-1][2], end))
        else:
            out.append((symbol, start, end))
    return out


def find_gaps(db: str | Path, session: Session, symbols: Sequence[str], min_seconds: float) -> list[Gap]:
    """The gaps of ``session`` in the log at ``db`` longer than ``min_seconds`` (see the module doc)."""
    limit = int(min_seconds * _NS)
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        prints = conn.execute(
            "SELECT json_extract(payload, '$.symbol'), ts FROM events"
            " WHERE kind = 'Trade' AND ts >= ? AND ts < ? ORDER BY seq",
            (session.open, session.close),
        ).fetchall()
        status = conn.execute(
            "SELECT ts, json_extract(payload, '$.connected') FROM events"
            " WHERE kind = 'FeedStatus' AND ts < ? ORDER BY seq",
            (session.close,),
        ).fetchall()
    finally:
        conn.close()
    times: dict[str, list[int]] = {s: [] for s in symbols}
    for symbol, ts in prints:
        if symbol in times:
            times[symbol].append(int(ts))
    gaps: list[Gap] = []
    for symbol, seen in times.items():
        edges = [session.open, *sorted(seen), session.close]
        gaps += [(symbol, a, b) for a, b in itertools.pairwise(edges) if b - a > limit]
    down: int | None = None
    outages: list[tuple[int, int]] = []
    for ts, connected in status:
        if not connected and down is None:
            down = int(ts)
        elif connected and down is not None:
            outages.append((down, int(ts)))
            down = None
    if down is not None:
        outages.append((down, session.close))
    for a, b in outages:
        a, b = max(a, session.open), min(b, session.close)
        if b - a > limit:
            gaps += [(symbol, a, b) for symbol in symbols]
    return merge_gaps(gaps)
