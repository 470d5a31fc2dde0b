"""Account cards: cash, equity, daily P&L, open positions, trades today, and the trading state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import panel as pn

__all__ = ["AccountCards", "performance_line", "state_line"]

_MONEY = "${value:,.2f}"
_PNL_COLOURS = [(-0.005, "#c0392b"), (0.005, "#555555"), (float("inf"), "#1e8449")]


class AccountCards:
    """One ``pn.indicators.Number`` a figure, plus a line saying live/paused/halted and the session."""

    def __init__(self) -> None:
        size = {"font_size": "26pt", "title_size": "11pt", "width": 230}
        self.cash = pn.indicators.Number(label="Cash", value=0.0, format=_MONEY, **size)
        self.equity = pn.indicators.Number(label="Equity", value=0.0, format=_MONEY, **size)
        self.daily_pnl = pn.indicators.Number(
            label="Daily P&L ($)", value=0.0, format="{value:+,.2f}", colors=_PNL_COLOURS, **size
        )
        self.open_positions = pn.indicators.Number(label="Open positions", value=0, format="{value}", **size)
        self.trades_today = pn.indicators.Number(label="Trades today", value=0, format="{value}", **size)
        self.state = pn.pane.Markdown("", css_classes=["vibe-state"], margin=(0, 10))
        self.performance = pn.pane.Markdown("", css_classes=["vibe-performance"], margin=(0, 10))
        self.panel = pn.Column(
            pn.Row(self.cash, self.equity, self.daily_pnl, self.open_positions, self.trades_today),
            self.state,
            self.performance,
        )

    def update(self, account: Mapping[str, Any]) -> None:
        self.cash.value = float(account.get("cash") or 0.0)
        self.equity.value = float(account.get("equity") or 0.0)
        self.daily_pnl.value = float(account.get("daily_pnl") or 0.0)
        self.open_positions.value = int(account.get("open_positions") or 0)
        self.trades_today.value = int(account.get("trades_today") or 0)
        self.state.object = state_line(account)


def performance_line(perf: Mapping[str, Any]) -> str:
    """The whole run's figures in one line (``/api/metrics/performance?period=all``)."""
    sharpe = perf.get("sharpe")
    return (
        f"All: P&L {float(perf.get('pnl') or 0):+,.2f} ({float(perf.get('return_pct') or 0):+.2f}%) · "
        f"win rate {100 * float(perf.get('win_rate') or 0):.0f}% · "
        f"Sharpe {'n/a' if sharpe is None else f'{float(sharpe):.2f}'} · "
        f"max drawdown {float(perf.get('max_drawdown_pct') or 0):.2f}% · {perf.get('trades', 0)} trades · "
        f"average {float(perf.get('avg_duration_minutes') or 0):.0f} min"
    )


def state_line(account: Mapping[str, Any]) -> str:
    """``mode · trading state · session`` in words, e.g. ``replay · **paused** · session 2024-05-08 open``."""
    if account.get("halted"):
        trading = "**halted** (daily loss limit)"
    elif account.get("paused"):
        trading = "**paused**"
    else:
        trading = "trading"
    session = account.get("session_date")
    when = (
        f"session {session} {'open' if account.get('session_open') else 'closed'}"
        if session
        else "no session"
    )
    total = account.get("total_trades", 0)
    return f"{account.get('mode', '?')} · {trading} · {when} · {total} trades in all"
