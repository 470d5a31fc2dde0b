"""The audit's comparison: a day's records as keyed rows, and the differences between two such sets.

A record is compared by a key that names it in both runs, whatever else differs:

- a signal by (symbol, strategy, bar time);
- an order by its id (deterministic: ``AAPL-20240726-1``, ``...-sl``, ``...-tp``);
- a fill by its order's id and its rank among that order's fills;
- a trade by (symbol, strategy, entry time).

Rows hold the fields the backtester's CSV files show (times as ISO-8601 with the New York offset,
enums as their values), plus an order's last event and filled quantity, and a trade's fees. Values
are compared exactly: both runs are the same computation, so any difference is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vibe_backtest.loop import Recorder
from vibe_core.calendar import ns_to_datetime
from vibe_core.events import OrderCancelled, OrderRejected

__all__ = ["KINDS", "Difference", "keyed_rows", "compare", "until", "iso"]

KINDS = ("signal", "order", "fill", "trade")  #: what the audit compares, in reporting order

Row = dict[str, Any]


def iso(ts: int) -> str:
    """``ts`` (ns UTC) as ISO-8601 in New York time (``2024-05-01T09:50:00-04:00``)."""
    return ns_to_datetime(ts).isoformat()


@attrs.frozen(kw_only=True)
class Difference:
    """One record that is not the same in the session and in the backtest of its bars."""

    day: str
    kind: str  #: one of :data:`KINDS`
    key: str  #: what names the record in both runs (see the module docstring)
    session: Row | None  #: the record as the session made it (None: the session has none)
    backtest: Row | None  #: the record as the backtest made it (None: the backtest has none)

    @property
    def change(self) -> str:
        if self.backtest is None:
            return "only in session"
        if self.session is None:
            return "only in backtest"
        return "changed"

    @property
    def fields(self) -> dict[str, tuple[Any, Any]]:
        """The fields that differ: name -> (session value, backtest value); empty unless changed."""
        if self.session is None or self.backtest is None:
            return {}
        names = [*self.session, *(k for k in self.backtest if k not in self.session)]
        return {
            k: (self.session.get(k), self.backtest.get(k))
            for k in names
            if self.session.get(k) != self.backtest.get(k)
        }

    def to_dict(self) -> dict[str, Any]:
        fields = {k: {"session": a, "backtest": b} for k, (a, b) in self.fields.items()}
        return {
            "day": self.day,
            "kind": self.kind,
            "key": self.key,
            "change": self.change,
            "fields": fields,
            "session": self.session,
            "backtest": self.backtest,
        }


def keyed_rows(rec: Recorder) -> dict[str, dict[str, Row]]:
    """kind -> key -> row for every record in ``rec``."""
    signals: dict[str, Row] = {}
    for s in rec.signals:
        sig = s.signal
        signals[f"{sig.symbol} {sig.strategy} {iso(sig.ts)}"] = {
            "time": iso(sig.ts), "symbol": sig.symbol, "strategy": sig.strategy, "side": sig.side.value,
            "price": sig.price, "stop": sig.stop, "target": sig.target,
            "range_high": getattr(sig, "range_high", None), "range_low": getattr(sig, "range_low", None),
            "accepted": s.accepted, "qty": s.qty, "reasons": "; ".join(s.reasons),
            "vetoes": "; ".join(s.vetoes),
        }  # fmt: skip
    filled: dict[str, int] = {}
    fills: dict[str, Row] = {}
    for f in rec.fills:
        filled[f.order_id] = filled.get(f.order_id, 0) + 1
        fills[f"{f.order_id} #{filled[f.order_id]}"] = {
            "time": iso(f.ts), "order_id": f.order_id, "symbol": f.symbol, "side": f.side.value,
            "qty": f.qty, "price": f.price, "ref_price": f.ref_price, "fee": f.fee, "tag": f.tag,
        }  # fmt: skip
    filled_qty: dict[str, int] = {}
    for f in rec.fills:
        filled_qty[f.order_id] = filled_qty.get(f.order_id, 0) + f.qty
    orders: dict[str, Row] = {}
    for o in rec.orders:
        orders[o.id] = {
            "time": iso(o.ts), "id": o.id, "symbol": o.symbol, "side": o.side.value, "type": o.type.value,
            "qty": o.qty, "limit_price": o.limit_price, "stop_price": o.stop_price, "tif": o.tif.value,
            "tag": o.tag, "parent_id": o.parent_id, "filled_qty": filled_qty.get(o.id, 0),
            "last_event": rec.order_status.get(o.id, ""),
        }  # fmt: skip
    trades: dict[str, Row] = {}
    for t in rec.trades:
        trades[f"{t.symbol} {t.strategy} {iso(t.entry_time)}"] = {
            "symbol": t.symbol, "side": t.side.value, "qty": t.qty, "entry_time": iso(t.entry_time),
            "entry_price": t.entry_price, "exit_time": iso(t.exit_time), "exit_price": t.exit_price,
            "pnl": t.pnl, "fees": t.fees, "exit_reason": t.exit_reason.value,
        }  # fmt: skip
    return {"signal": signals, "order": orders, "fill": fills, "trade": trades}


def compare(
    day: str, session: Mapping[str, Mapping[str, Row]], backtest: Mapping[str, Mapping[str, Row]]
) -> list[Difference]:
    """Every record of ``session`` and ``backtest`` (from :func:`keyed_rows`) that differs, by kind,
    then in the session's order (records only in the backtest after, in its order)."""
    out: list[Difference] = []
    for kind in KINDS:
        ours, theirs = session[kind], backtest[kind]
        for key, row in ours.items():
            other = theirs.get(key)
            if other != row:
                out.append(Difference(day=day, kind=kind, key=key, session=row, backtest=other))
        for key, other in theirs.items():
            if key not in ours:
                out.append(Difference(day=day, kind=kind, key=key, session=None, backtest=other))
    return out


def until(rec: Recorder, cutoff: int) -> Recorder:
    """The records of ``rec`` stamped at or before ``cutoff`` (a day the log does not finish)."""
    out = Recorder(
        orders=[o for o in rec.orders if o.ts <= cutoff],
        fills=[f for f in rec.fills if f.ts <= cutoff],
        trades=[t for t in rec.trades if t.exit_time <= cutoff],
        signals=[s for s in rec.signals if s.signal.ts <= cutoff],
        halts=[h for h in rec.halts if h.ts <= cutoff],
        cancels=[c for c in rec.cancels if c.ts <= cutoff],
        rejections=[r for r in rec.rejections if r.ts <= cutoff],
    )
    out.order_status = {o.id: "accepted" for o in out.orders}
    ended: list[OrderCancelled | OrderRejected] = [*out.cancels, *out.rejections]
    ended.sort(key=lambda e: e.ts)
    for event in ended:
        verb = "cancelled" if isinstance(event, OrderCancelled) else "rejected"
        out.order_status[event.order_id] = f"{verb}: {event.reason}"
    return out
