"""Structured logs for the service: text for people, JSON lines for machines.

One line per order, fill, closed trade, halt, feed gap, rejected input and session transition; never one
per print (a print is in the event log, not in the logs). Every line has an ``event`` name and its
fields; times are ISO-8601 with their New York offset.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, Literal, TextIO
from zoneinfo import ZoneInfo

from vibe_core.actions import Action, FeedGap, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.events import Filled, OrderAccepted, OrderCancelled, OrderRejected

__all__ = ["LOGGER", "LogFormat", "setup_logging", "describe", "log_actions", "iso"]

LOGGER = logging.getLogger("vibe_live")
NEW_YORK = ZoneInfo("America/New_York")
LogFormat = Literal["text", "json"]


def iso(ts: int) -> str:
    """Nanoseconds UTC as New York ISO-8601 (``2024-05-01T09:35:00-04:00``)."""
    return dt.datetime.fromtimestamp(ts / 1e9, tz=NEW_YORK).isoformat(timespec="seconds")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", record.getMessage()),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        head = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        text = f"{head} {tail}" if tail else head
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(
    fmt: LogFormat = "text", *, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """Send the service's logs to ``stream`` (stderr) as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False


def describe(action: Action) -> tuple[int, str, dict[str, Any]] | None:
    """The log line of an action, as (level, event, fields), or None for actions not logged."""
    match action:
        case OrderAccepted(order=order) if order is not None:
            fields = {"order": order.id, "symbol": order.symbol, "side": order.side.value, "qty": order.qty,
                      "type": order.type.value, "tag": order.tag, "time": iso(order.ts)}  # fmt: skip
            return logging.INFO, "order", fields
        case OrderRejected():
            return logging.WARNING, "order rejected", {"order": action.order_id, "reason": action.reason}
        case OrderCancelled():
            return logging.INFO, "order cancelled", {"order": action.order_id, "reason": action.reason}
        case Filled(fill=f):
            fields = {"order": f.order_id, "symbol": f.symbol, "side": f.side.value, "qty": f.qty,
                      "price": f.price, "tag": f.tag, "time": iso(f.ts)}  # fmt: skip
            return logging.INFO, "fill", fields
        case TradeClosed(trade=t):
            fields = {"symbol": t.symbol, "side": t.side.value, "qty": t.qty, "entry": t.entry_price,
                      "exit": t.exit_price, "pnl": round(t.pnl, 2),
                      "reason": t.exit_reason.value}  # fmt: skip
            return logging.INFO, "trade closed", fields
        case RiskHalted():
            fields = {"reason": action.reason, "equity": round(action.equity, 2), "time": iso(action.ts)}
            return logging.WARNING, "risk halt", fields
        case SignalEvaluated(signal=s):
            verdict = "accepted" if action.accepted else "; ".join(action.vetoes)
            fields = {"symbol": s.symbol, "side": s.side.value, "price": s.price, "verdict": verdict}
            return logging.INFO, "signal", fields
        case FeedGap():
            seconds = (action.end - action.start) // 1_000_000_000
            fields = {"symbol": action.symbol, "start": iso(action.start), "end": iso(action.end),
                      "seconds": seconds, "reason": action.reason}  # fmt: skip
            return logging.WARNING, "feed gap", fields
    return None


def log_actions(actions: list[Action]) -> None:
    """One log line per order, fill, trade, halt and signal among ``actions``."""
    for action in actions:
        line = describe(action)
        if line is not None:
            level, event, fields = line
            LOGGER.log(level, event, extra={"event": event, "fields": fields})
