"""Performance metrics over an equity curve and closed trades. Pure numpy, no pandas.

State: none: pure functions of numpy arrays and closed trades.
Consumes: the equity curve, the daily equity, the exposure flags and the closed
:class:`~vibe_core.models.TradeRecord` s of one run (from the backtest shell).
Emits: the summary dict (return, Sharpe, Sortino, drawdown, win rate, profit factor, ...).
Invariants: the same inputs give the same numbers; a ratio with nothing to divide by is not
reported as infinite: profit factor and win rate are ``None`` (no losing trade, no trade), Sharpe
and Sortino 0.0 (fewer than two days, or no spread).

Returns are daily (last equity of each session), annualised with 252 sessions; drawdown is
measured on every equity sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vibe_core.models import TradeRecord
from vibe_core.types import NS_PER_MINUTE

__all__ = ["summary_metrics", "max_drawdown", "sharpe", "sortino", "profit_factor"]

TRADING_DAYS = 252


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall as a fraction of the peak (0.0 .. 1.0, reported positive)."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.max((peaks - equity) / peaks))


def sharpe(daily_returns: np.ndarray) -> float:
    if daily_returns.size < 2:
        return 0.0
    sd = float(np.std(daily_returns, ddof=1))
    return 0.0 if sd == 0 else float(np.mean(daily_returns)) / sd * math.sqrt(TRADING_DAYS)


def sortino(daily_returns: np.ndarray) -> float:
    if daily_returns.size < 2:
        return 0.0
    downside = np.minimum(daily_returns, 0.0)
    dd = math.sqrt(float(np.mean(downside**2)))
    return 0.0 if dd == 0 else float(np.mean(daily_returns)) / dd * math.sqrt(TRADING_DAYS)


def profit_factor(pnls: Sequence[float]) -> float | None:
    """Gross profit / gross loss; None when there is no losing trade (undefined, not infinite)."""
    gains = sum(p for p in pnls if p > 0)
    losses = -sum(p for p in pnls if p < 0)
    if losses == 0:
        return None
    return gains / losses


def summary_metrics(
    *,
    initial_capital: float,
    equity: np.ndarray,
    daily_equity: np.ndarray,
    exposed: np.ndarray,
    trades: Sequence[TradeRecord],
) -> dict[str, float | int | None]:
    """The summary of one backtest. ``exposed`` is a bool per equity sample (any position open)."""
    final = float(equity[-1]) if equity.size else initial_capital
    days = (
        np.concatenate([[initial_capital], daily_equity])
        if daily_equity.size
        else np.array([initial_capital])
    )
    daily_returns = np.diff(days) / days[:-1]
    pnls = [t.pnl for t in trades]
    wins = sum(1 for p in pnls if p > 0)
    minutes = [(t.exit_time - t.entry_time) / NS_PER_MINUTE for t in trades]
    return {
        "initial_capital": initial_capital,
        "final_equity": final,
        "total_return": final / initial_capital - 1.0,
        "n_trades": len(trades),
        "win_rate": (wins / len(trades)) if trades else None,
        "profit_factor": profit_factor(pnls),
        "sharpe": sharpe(daily_returns),
        "sortino": sortino(daily_returns),
        "max_drawdown": max_drawdown(np.concatenate([[initial_capital], equity]) if equity.size else days),
        "avg_trade_minutes": (sum(minutes) / len(minutes)) if minutes else None,
        "exposure": float(np.mean(exposed)) if exposed.size else 0.0,
    }
