"""The read rows of the engine's actions: which table, which columns, under which key.

Every row is keyed by ``(seq, idx)``: the log position of the event that caused the action and the
action's position among that event's actions (orders by their deterministic id). A replay after a
crash produces the same actions under the same keys, so ``INSERT OR IGNORE`` drops the repeats.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from vibe_core.actions import Action, FeedGap, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.codec import action_to_dict, unstructure
from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected

__all__ = ["RECORDS", "write_action"]


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


#: the actions that have read rows (notifications and broker requests have none)
RECORDS = (
    Filled,
    SignalEvaluated,
    TradeClosed,
    OrderAccepted,
    OrderRejected,
    OrderCancelled,
    RiskHalted,
    FeedGap,
)


def write_action(conn: sqlite3.Connection, seq: int, idx: int, action: Action) -> None:
    """The read rows of one action; actions that are not records (notifications, broker requests) add none."""
    if isinstance(action, Filled):
        f = action.fill
        conn.execute(
            "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, idx, f.ts, f.order_id, f.symbol, f.side.value, f.qty, f.price, f.ref_price, f.fee, f.tag,
             _dumps(action_to_dict(action))),
        )  # fmt: skip
    elif isinstance(action, SignalEvaluated):
        s = action.signal
        conn.execute(
            "INSERT OR IGNORE INTO signals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, idx, s.ts, s.symbol, s.strategy, s.side.value, s.price, s.stop, s.target, s.range_high,
             s.range_low, int(action.accepted), action.qty, _dumps(list(action.reasons)),
             _dumps(list(action.vetoes)), _dumps(action_to_dict(action))),
        )  # fmt: skip
    elif isinstance(action, TradeClosed):
        t = action.trade
        conn.execute(
            "INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, idx, t.symbol, t.side.value, t.qty, t.entry_time, t.entry_price, t.exit_time, t.exit_price,
             t.pnl, t.fees, t.exit_reason.value, _dumps(action_to_dict(action))),
        )  # fmt: skip
    elif isinstance(action, OrderAccepted | OrderRejected | OrderCancelled):
        _write_order_event(conn, seq, idx, action)
    elif isinstance(action, RiskHalted):
        conn.execute(
            "INSERT OR IGNORE INTO halts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, idx, action.ts, action.reason, action.session_start_equity, action.equity,
             _dumps(action_to_dict(action))),
        )  # fmt: skip
    elif isinstance(action, FeedGap):
        conn.execute(
            "INSERT OR IGNORE INTO gaps VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                idx,
                action.symbol,
                action.start,
                action.end,
                action.reason,
                _dumps(action_to_dict(action)),
            ),
        )


def _write_order_event(
    conn: sqlite3.Connection, seq: int, idx: int, action: OrderAccepted | OrderRejected | OrderCancelled
) -> None:
    """An order's life: the order row (status as the backtester's recorder keeps it) and the event row.

    The status is overwritten in log order, so replaying a suffix of the log ends on the same value.
    """
    data = _dumps(action_to_dict(action))
    if isinstance(action, OrderAccepted):
        kind, reason, status = "accepted", "", "accepted"
        o = action.order
        if o is not None:
            conn.execute(
                "INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.id, seq, idx, o.ts, o.symbol, o.side.value, o.type.value, o.qty, o.limit_price,
                 o.stop_price, o.tif.value, o.tag, o.parent_id, status, _dumps(unstructure(o))),
            )  # fmt: skip
    elif isinstance(action, OrderRejected):
        kind, reason = "rejected", action.reason
        status = f"rejected: {reason}"
    else:
        kind, reason = "cancelled", action.reason
        status = f"cancelled: {reason}"
    conn.execute("UPDATE orders SET status = ? WHERE id = ?", (status, action.order_id))
    conn.execute(
        "INSERT OR IGNORE INTO order_events VALUES (?, ?, ?, ?, ?, ?, ?)",
        (seq, idx, action.ts, action.order_id, kind, reason, data),
    )
