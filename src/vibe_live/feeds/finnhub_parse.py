"""Finnhub's WebSocket messages, parsed: trade rows into prints, pings, errors, and named faults.

A message is one JSON text frame: ``{"type":"trade","data":[{"s","p","t","v","c"}...]}``,
``{"type":"ping"}`` or ``{"type":"error","msg":...}`` (protocols.md B3). A trade frame batches
prints of several symbols: every row becomes a :class:`~vibe_core.events.Trade` stamped with its
own ``t`` (ms -> ns), never with the arrival time (that is ``ts_recv``). A row that cannot be a
print (a missing or ill-typed field, a price <= 0, a symbol not subscribed) is dropped and named as
a fault; the rest of the frame stands. Nothing here raises on bad input.

Trade conditions (``c``, a list of code strings) have no place in a ``Trade`` (the core never reads
them): they come back beside the prints, ``conditions[i]`` for ``trades[i]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any

import attrs

from vibe_core.events import Trade

__all__ = ["Message", "parse_message"]

_MS = 1_000_000
_INF = math.inf


@attrs.define
class Message:
    """One parsed message: its ``kind`` (trade, ping, error, or ``fault``) and what it carried."""

    kind: str
    trades: list[Trade] = attrs.Factory(list)
    conditions: list[tuple[str, ...]] = attrs.Factory(list)  #: per print, its trade-condition codes
    error: str = ""  #: an ``error`` message's ``msg``
    faults: list[tuple[str, str]] = attrs.Factory(list)  #: (kind, detail) of what was dropped


def parse_message(text: str, recv_ns: int, symbols: Collection[str]) -> Message:
    """``text`` (one WebSocket text message) received at ``recv_ns``, for the subscribed ``symbols``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Message("fault", faults=[("malformed json", f"{exc}: {text[:80]!r}")])
    if not isinstance(data, dict):
        return Message("fault", faults=[("malformed json", f"not an object: {text[:80]!r}")])
    kind = data.get("type")
    if kind == "trade":
        return _trades(data.get("data"), recv_ns, symbols)
    if kind == "ping":
        return Message("ping")
    if kind == "error":
        return Message("error", error=str(data.get("msg", "")))
    return Message("fault", faults=[("unknown type", f"type {kind!r}: {text[:80]!r}")])


def _trades(rows: Any, recv_ns: int, symbols: Collection[str]) -> Message:
    out = Message("trade")
    if not isinstance(rows, list):
        out.faults.append(("bad trade frame", f"data is {type(rows).__name__}, not a list"))
        return out
    trades, conditions, faults = out.trades, out.conditions, out.faults
    for row in rows:
        try:  # the fast path: a well-formed row (one check per field, no call)
            s, p, t, v = row["s"], row["p"], row["t"], row["v"]
            ok = (
                (type(p) is float or type(p) is int) and 0 < p < _INF
                and type(t) is int and t >= 0
                and (type(v) is float or type(v) is int) and 0 <= v < _INF
                and s in symbols and type(s) is str
            )  # fmt: skip
        except (KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            problem = _row_problem(row, symbols)  # the slow path names what is wrong
            if problem is not None:
                faults.append(problem)
                continue
            s, p, t, v = row["s"], row["p"], row["t"], row["v"]
        trades.append(Trade(symbol=s, ts=int(t) * _MS, price=float(p), size=float(v), ts_recv=recv_ns))
        codes = row.get("c")
        conditions.append(tuple(str(c) for c in codes) if isinstance(codes, list) else ())
    return out


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _row_problem(row: Any, symbols: Collection[str]) -> tuple[str, str] | None:
    """Why ``row`` is not a print (a fault kind and the row), or None."""
    if not isinstance(row, dict):
        return "bad row", f"not an object: {row!r:.80}"
    for key in ("s", "p", "t", "v"):
        if key not in row:
            return f"row missing {key}", f"{row!r:.120}"
    s, p, t, v = row["s"], row["p"], row["t"], row["v"]
    if not isinstance(s, str) or not s:
        return "bad row s", f"{row!r:.120}"
    if not (_number(p) and p > 0):
        return "bad row p", f"{row!r:.120}"
    if not (_number(t) and t >= 0 and t == int(t)):
        return "bad row t", f"{row!r:.120}"
    if not (_number(v) and v >= 0):
        return "bad row v", f"{row!r:.120}"
    if s not in symbols:
        return "unsubscribed symbol", f"{row!r:.120}"
    return None
