"""The store's read tables as the API's rows, on a read-only connection of the API's own (WAL: it
never blocks the service's writer, and sees only committed transactions).

Lists are newest first, keyed by ``(seq, idx)`` (the log position of the event that caused the row
and the action's place among that event's actions), so a cursor is that key. The update stream
(:mod:`vibe_live.api.updates`) numbers the same rows: every row of ``order_events``, ``fills``,
``trades``, ``signals`` and ``halts`` in key order is one message.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vibe_live.api.models import FillRow, OrderRow, SignalRow, TradeRow
from vibe_live.api.shapes import Query, cursor_of, order_status, r_multiple, utc

__all__ = ["StoreReader", "Row"]

Row = tuple[Any, ...]
Key = tuple[int, int]

_TRADE = (
    "SELECT t.seq, t.idx, t.symbol, t.side, t.qty, t.entry_time, t.entry_price, t.exit_time, t.exit_price,"
    " t.pnl, t.fees, t.exit_reason, coalesce(json_extract(t.action, '$.trade.strategy'), ''),"
    " (SELECT json_array(s.price, s.stop) FROM signals s WHERE s.symbol = t.symbol AND s.accepted = 1"
    "  AND s.time <= t.entry_time ORDER BY s.time DESC LIMIT 1)"
    " FROM trades t"
)
_FILL = "SELECT f.seq, f.idx, f.time, f.order_id, f.symbol, f.side, f.qty, f.price, f.fee FROM fills f"
_SIGNAL = (
    "SELECT g.seq, g.idx, g.time, g.symbol, g.side, g.accepted, g.reasons, g.vetoes, g.strategy, g.price,"
    " g.stop, g.target, g.qty FROM signals g"
)
#: an order as of now: its fills so far and its recorded status
_ORDER = (
    "SELECT o.seq, o.idx, o.id, o.time, o.symbol, o.side, o.type, o.qty, o.limit_price, o.stop_price, o.tag,"
    " o.status, (SELECT coalesce(sum(qty), 0) FROM fills WHERE order_id = o.id),"
    " (SELECT sum(qty * price) FROM fills WHERE order_id = o.id) FROM orders o"
)
#: an order as one of its events left it (the update stream: the same message whenever it is read)
_ORDER_EVENT = (
    "SELECT e.seq, e.idx, e.order_id, e.time, coalesce(o.symbol, json_extract(e.action, '$.symbol'), ''),"
    " coalesce(o.side, ''), coalesce(o.type, ''), coalesce(o.qty, 0), o.limit_price, o.stop_price,"
    " coalesce(o.tag, ''), e.kind || CASE WHEN e.reason = '' THEN '' ELSE ': ' || e.reason END,"
    " (SELECT coalesce(sum(qty), 0) FROM fills f"
    "  WHERE f.order_id = e.order_id AND (f.seq, f.idx) < (e.seq, e.idx)),"
    " (SELECT sum(qty * price) FROM fills f"
    "  WHERE f.order_id = e.order_id AND (f.seq, f.idx) < (e.seq, e.idx))"
    " FROM order_events e LEFT JOIN orders o ON o.id = e.order_id"
)
_HALT = "SELECT h.seq, h.idx, h.time, h.reason, h.session_start_equity, h.equity FROM halts h"

#: the update stream's tables: (message type, query, its alias, its time column)
STREAM = (
    ("order", _ORDER_EVENT, "e"),
    ("fill", _FILL, "f"),
    ("trade", _TRADE, "t"),
    ("signal", _SIGNAL, "g"),
    ("halt", _HALT, "h"),
)


def trade_row(r: Row) -> TradeRow:
    sig = json.loads(r[13]) if r[13] else None
    return TradeRow(
        symbol=r[2],
        side=r[3],
        qty=r[4],
        entry_time=utc(r[5]),
        entry_price=r[6],
        exit_time=utc(r[7]),
        exit_price=r[8],
        pnl=r[9],
        fees=r[10],
        exit_reason=r[11],
        strategy=r[12],
        r_multiple=r_multiple(r[3], r[4], r[9], sig[0] if sig else None, sig[1] if sig else None),
    )


def fill_row(r: Row) -> FillRow:
    return FillRow(time=utc(r[2]), order_id=r[3], symbol=r[4], side=r[5], qty=r[6], price=r[7], fee=r[8])


def signal_row(r: Row) -> SignalRow:
    return SignalRow(
        time=utc(r[2]),
        symbol=r[3],
        side=r[4],
        verdict="accepted" if r[5] else "vetoed",
        reasons=json.loads(r[6]),
        vetoes=json.loads(r[7]),
        strategy=r[8],
        price=r[9],
        stop=r[10],
        target=r[11],
        qty=r[12],
    )


def order_row(r: Row) -> OrderRow:
    filled = int(r[12] or 0)
    status, reason = order_status(r[11], filled, r[7])
    return OrderRow(
        id=r[2],
        time=utc(r[3]),
        symbol=r[4],
        side=r[5],
        type=r[6],
        qty=r[7],
        status=status,
        limit_price=r[8],
        stop_price=r[9],
        filled_qty=filled,
        avg_fill_price=r[13] / filled if filled and r[13] is not None else None,
        reason=reason,
        tag=r[10],
    )


def halt_data(r: Row) -> dict[str, Any]:
    return {"time": utc(r[2]), "reason": r[3], "session_start_equity": r[4], "equity": r[5]}


CONVERT = {"order": order_row, "fill": fill_row, "trade": trade_row, "signal": signal_row, "halt": halt_data}


class StoreReader:
    """Read-only queries on the store file at ``path``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )

    def close(self) -> None:
        self._conn.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def has_table(self, name: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _listing(
        self, sql: str, alias: str, q: Query, time_col: str, *, status: bool = False
    ) -> Iterator[Row]:
        where: list[str] = []
        params: list[object] = []
        if q.symbol is not None:
            where.append(f"{alias}.symbol = ?")
            params.append(q.symbol)
        if q.since is not None:
            where.append(f"{alias}.{time_col} >= ?")
            params.append(q.since)
        if q.cursor is not None:
            where.append(f"({alias}.seq, {alias}.idx) < (?, ?)")
            params += [q.cursor[0], q.cursor[1]]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        limit = "" if status else f" LIMIT {q.limit + 1}"
        yield from self._conn.execute(
            f"{sql}{clause} ORDER BY {alias}.seq DESC, {alias}.idx DESC{limit}", params
        )

    def page(self, kind: str, q: Query) -> tuple[list[Any], str | None]:
        """One page of ``kind`` (orders, trades, fills, signals), newest first, and the next cursor."""
        sql, alias, time_col, convert = {
            "orders": (_ORDER, "o", "time", order_row),
            "trades": (_TRADE, "t", "exit_time", trade_row),
            "fills": (_FILL, "f", "time", fill_row),
            "signals": (_SIGNAL, "g", "time", signal_row),
        }[kind]
        out: list[Any] = []
        last: Key | None = None
        for r in self._listing(sql, alias, q, time_col, status=kind == "orders" and q.status is not None):
            row = convert(r)
            if q.status is not None and getattr(row, "status", None) != q.status:
                continue
            if len(out) == q.limit:
                assert last is not None
                return out, cursor_of(last)
            out.append(row)
            last = (r[0], r[1])
        return out, None

    def count(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- the update stream -------------------------------------------------------------------------

    def stream_after(self, key: Key) -> list[tuple[Key, str, Any]]:
        """Every stream row after ``key``, in key order: ``((seq, idx), type, data)``."""
        out: list[tuple[Key, str, Any]] = []
        for kind, sql, alias in STREAM:
            rows = self._conn.execute(f"{sql} WHERE ({alias}.seq, {alias}.idx) > (?, ?)", key)
            out += [((r[0], r[1]), kind, CONVERT[kind](r)) for r in rows]
        out.sort(key=lambda m: m[0])
        return out

    def stream_count(self, upto: Key | None = None) -> int:
        """How many stream rows there are (at or before ``upto``)."""
        total = 0
        for table in ("order_events", "fills", "trades", "signals", "halts"):
            if upto is None:
                total += self.count(table)
            else:
                total += int(
                    self._conn.execute(
                        f"SELECT count(*) FROM {table} WHERE (seq, idx) <= (?, ?)", upto
                    ).fetchone()[0]
                )
        return total

    def stream_key_at(self, n: int) -> Key:
        """The key of the ``n``-th stream row (1-based); ``(0, 0)`` for 0, the last key past the end."""
        if n <= 0:
            return (0, 0)
        union = " UNION ALL ".join(
            f"SELECT seq, idx FROM {t}" for t in ("order_events", "fills", "trades", "signals", "halts")
        )
        row = self._conn.execute(
            f"SELECT seq, idx FROM ({union}) ORDER BY seq, idx LIMIT 1 OFFSET ?", (n - 1,)
        ).fetchone()
        if row is None:
            row = self._conn.execute(
                f"SELECT seq, idx FROM ({union}) ORDER BY seq DESC, idx DESC LIMIT 1"
            ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))
