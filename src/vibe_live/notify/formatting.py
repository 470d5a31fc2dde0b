"""Notification items from the engine's actions, the feed's status and the service's life.

Pure builders: each takes what it reports and the ``(seq, idx)`` of its source (the log position of
the event and the action's index among that event's actions) and returns an :class:`Item` whose key
is derived from them, so the same source always gives the same key.

R multiple: ``R = pnl / initial risk``, the initial risk being ``qty * |entry price - stop|`` with
the stop of the bracket's stop leg (or the entry order's ``stop_loss``), looked up by the caller; a
trade without a known stop says "R: n/a (no stop on record)".
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Sequence

from vibe_core.actions import EventRejected, Notify, RiskHalted, SignalEvaluated, TradeClosed
from vibe_core.events import Filled, OrderRejected
from vibe_core.models import TradeRecord
from vibe_core.types import Side
from vibe_live.logs import iso
from vibe_live.notify.items import COLORS, Item

__all__ = [
    "r_multiple",
    "service_started",
    "service_stopped",
    "fatal_error",
    "describe_error",
    "fill_item",
    "trade_item",
    "veto_item",
    "halt_item",
    "order_rejected_item",
    "event_rejected_item",
    "notice_item",
    "feed_item",
    "feed_down_long_item",
    "gap_item",
    "summary_item",
]


def _money(value: float) -> str:
    return f"{value:+,.2f}"


def _price(value: float) -> str:
    return f"{value:,.2f}"


def _hhmm(ts: int) -> str:
    return iso(ts)[11:16]


def r_multiple(trade: TradeRecord, stop: float | None) -> float | None:
    """``pnl / (qty * |entry - stop|)``; None when the stop is unknown or equals the entry."""
    if stop is None:
        return None
    risk = trade.qty * abs(trade.entry_price - stop)
    return None if risk <= 1e-12 else trade.pnl / risk


def service_started(*, wall_ns: int, seq: int, mode: str, symbols: Sequence[str], resume: str) -> Item:
    return Item(
        key=f"service:start:{seq}:{wall_ns}",
        kind="service",
        title="vibe started",
        fields=(("mode", mode), ("symbols", ", ".join(symbols)), ("resume", resume)),
        ts=wall_ns,
    )


def service_stopped(*, wall_ns: int, seq: int, reason: str, equity: float | None, positions: int) -> Item:
    fields = [("reason", reason), ("log position", str(seq)), ("open positions", str(positions))]
    if equity is not None:
        fields.append(("equity", _price(equity)))
    return Item(
        key=f"service:stop:{seq}:{wall_ns}",
        kind="service",
        title="vibe stopped",
        fields=tuple(fields),
        ts=wall_ns,
        urgent=True,
    )


def describe_error(error: BaseException) -> str:
    """The errors inside ``error`` (task groups wrap them), each with the last lines of its traceback."""
    leaves: list[BaseException] = []
    stack = [error]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    parts = []
    for exc in leaves:
        lines = traceback.format_exception(exc)
        tail = "".join(lines[-4:-1]).rstrip()
        parts.append(f"{type(exc).__name__}: {exc}" + (f"\n```\n{tail}\n```" if tail else ""))
    return "\n".join(parts)


def fatal_error(*, wall_ns: int, seq: int, error: str) -> Item:
    return Item(
        key=f"error:fatal:{seq}:{wall_ns}",
        kind="error",
        severity="critical",
        title="vibe stopped on an error",
        description=error,
        ts=wall_ns,
        urgent=True,
    )


def fill_item(seq: int, idx: int, action: Filled) -> Item:
    f = action.fill
    return Item(
        key=f"fill:{seq}:{idx}",
        kind="fill",
        title=f"{f.symbol} {f.side.value} {f.qty} @ {_price(f.price)}",
        fields=(("order", f.order_id), ("tag", f.tag or "-"), ("time", _hhmm(f.ts))),
        ts=f.ts,
    )


def trade_item(seq: int, idx: int, action: TradeClosed, stop: float | None) -> Item:
    t = action.trade
    r = r_multiple(t, stop)
    r_text = f"{r:+.2f} R" if r is not None else "n/a (no stop on record)"
    side = "long" if t.side is Side.BUY else "short"
    held = dt.timedelta(seconds=round((t.exit_time - t.entry_time) / 1e9))
    return Item(
        key=f"trade:{seq}:{idx}",
        kind="trade",
        title=f"{t.symbol} {side} closed: {_money(t.pnl)}" + (f" ({r:+.2f} R)" if r is not None else ""),
        fields=(
            ("qty", str(t.qty)),
            ("entry", f"{_price(t.entry_price)} at {_hhmm(t.entry_time)}"),
            ("exit", f"{_price(t.exit_price)} at {_hhmm(t.exit_time)}"),
            ("P&L", _money(t.pnl)),
            ("R", r_text),
            ("stop", "n/a" if stop is None else _price(stop)),
            ("reason", t.exit_reason.value),
            ("held", str(held)),
        ),
        ts=t.exit_time,
        color=COLORS["profit"] if t.pnl > 0 else COLORS["critical"] if t.pnl < 0 else None,
    )


def veto_item(seq: int, idx: int, action: SignalEvaluated) -> Item:
    s = action.signal
    return Item(
        key=f"veto:{seq}:{idx}",
        kind="veto",
        title=f"{s.symbol} {s.side.value} signal vetoed at {_price(s.price)}",
        description="; ".join(action.vetoes) or "vetoed",
        fields=(("strategy", s.strategy), ("time", _hhmm(s.ts))),
        ts=s.ts,
    )


def halt_item(seq: int, idx: int, action: RiskHalted) -> Item:
    return Item(
        key=f"halt:{seq}:{idx}",
        kind="halt",
        severity="critical",
        title="Risk halt: no new entries today",
        description=action.reason,
        fields=(
            ("equity", _price(action.equity)),
            ("session start", _price(action.session_start_equity)),
            ("time", _hhmm(action.ts)),
        ),
        ts=action.ts,
        urgent=True,
    )


def order_rejected_item(seq: int, idx: int, action: OrderRejected) -> Item:
    return Item(
        key=f"error:{seq}:{idx}",
        kind="error",
        severity="warning",
        title=f"Order rejected: {action.symbol}",
        fields=(("order", action.order_id), ("reason", action.reason)),
        ts=action.ts,
    )


def event_rejected_item(seq: int, idx: int, action: EventRejected) -> Item:
    return Item(
        key=f"error:{seq}:{idx}",
        kind="error",
        severity="warning",
        title=f"Input refused: {action.reason}",
        description=action.detail,
        fields=(("event", type(action.event).__name__), ("time", iso(action.ts))),
        ts=action.ts,
    )


def notice_item(seq: int, idx: int, action: Notify) -> Item:
    """The generic path: any ``Notify`` of the core, as it is (critical ones are urgent)."""
    return _notice(f"notice:{seq}:{idx}", action)


def _notice(key: str, action: Notify) -> Item:
    severity = action.severity.value
    return Item(
        key=key,
        kind="notice",
        severity=severity,
        title=action.title,
        fields=tuple(action.fields),
        ts=action.ts,
        urgent=severity == "critical",
    )


def shell_notice_item(action: Notify) -> Item:
    """A notice of the shell's own, keyed by its time and title (a restart that says it again at the
    same feed time is the same message)."""
    return _notice(f"shell:{action.ts}:{action.title}", action)


def feed_item(seq: int, ts: int, connected: bool, reason: str) -> Item:
    return Item(
        key=f"feed:{seq}",
        kind="feed",
        severity="info" if connected else "warning",
        title="Feed up" if connected else "Feed down",
        description=reason,
        fields=(("time", iso(ts)),),
        ts=ts,
    )


def feed_down_long_item(seq: int, since_ts: int, minutes: float, reason: str) -> Item:
    return Item(
        key=f"feed:down-long:{seq}",
        kind="feed",
        severity="critical",
        title=f"Feed down for more than {minutes:g} min",
        description=reason,
        fields=(("down since", iso(since_ts)),),
        ts=since_ts,
        urgent=True,
    )


def gap_item(key: str, symbol: str, start: int, end: int, missing: int, note: str = "") -> Item:
    """A gap in a symbol's data (``missing`` bars from ``start`` to ``end``), found by the feed's checks."""
    return Item(
        key=f"gap:{key}",
        kind="gap",
        severity="warning",
        title=f"{symbol}: {missing} bar(s) missing",
        description=note,
        fields=(("from", iso(start)), ("to", iso(end))),
        ts=start,
    )


def summary_item(
    *,
    date: str,
    close_ts: int,
    start_equity: float,
    end_equity: float,
    pnls: Sequence[float],
    dashboard_url: str = "",
) -> Item:
    """The day after the close: P&L, trades, win rate, equity, a link to the dashboard."""
    wins = sum(1 for p in pnls if p > 0)
    pnl = end_equity - start_equity
    rate = f"{wins / len(pnls):.0%} ({wins}/{len(pnls)})" if pnls else "n/a (no trades)"
    return Item(
        key=f"summary:{date}",
        kind="summary",
        title=f"Daily summary {date}: {_money(pnl)}",
        description=f"[Dashboard]({dashboard_url})" if dashboard_url else "",
        fields=(
            ("P&L", f"{_money(pnl)} ({pnl / start_equity:+.2%})" if start_equity else _money(pnl)),
            ("trades", str(len(pnls))),
            ("win rate", rate),
            ("closed P&L", _money(sum(pnls))),
            ("equity", _price(end_equity)),
        ),
        ts=close_ts,
        color=COLORS["profit"] if pnl > 0 else COLORS["critical"] if pnl < 0 else None,
    )
