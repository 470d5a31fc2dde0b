"""Risk: position sizing, exposure limits, the daily loss halt and operator pause.

State: :class:`RiskState` (paused, halted, the session's starting equity).
Consumes: session opens, equity after fills and marks, Pause/Resume commands, signals to size.
Emits: a size and reasons (a veto is a value, never an exception); ``check_halt`` reports a new halt.
Invariants: no entry while paused or halted; without margin an entry never costs more than the
cash not already committed to working entries; the halt resets only at the next session open.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from vibe_core.config import RiskConfig
from vibe_core.models import Signal

__all__ = ["RiskState", "Exposure", "size_entry"]


@attrs.define
class RiskState:
    paused: bool = False
    halted: bool = False
    session_start_equity: float = 0.0
    #: equity at or below which the session's loss halts trading (``None``: no limit, no session yet);
    #: fixed at the session open
    halt_equity: float | None = None
    #: the portfolio's fill count at the last halt check: while flat with no fill since, equity is
    #: the cash that check saw, so it cannot have breached
    fills_checked: int = 0

    def on_session_open(self, equity: float, config: RiskConfig) -> None:
        self.halted = False
        self.session_start_equity = equity
        self.halt_equity = equity * (1.0 - config.daily_loss_halt_pct) if equity > 0 else None

    def check_halt(self, equity: float) -> bool:
        """True when this equity newly breaches the daily loss limit."""
        floor = self.halt_equity
        if self.halted or floor is None or equity > floor:
            return False
        self.halted = True
        return True

    def snapshot(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def restore(cls, data: dict[str, Any]) -> RiskState:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls)})  # (a missing key is named)


@attrs.frozen(kw_only=True)
class Exposure:
    """The account as risk sees it at decision time."""

    equity: float
    cash: float  #: cash not committed to working entry orders
    gross: float  #: gross exposure of open positions plus working entries
    open_positions: int  #: open positions plus working entries


def size_entry(signal: Signal, state: RiskState, exposure: Exposure, config: RiskConfig) -> tuple[int, str]:
    """Shares for ``signal`` and why; 0 shares means vetoed.

    shares = floor(min(risk% x equity / |close - stop|, max position% x equity / close,
    cash / close)), then capped by the gross-exposure limit.
    """
    if state.paused:
        return 0, "risk: trading paused"
    if state.halted:
        return 0, "risk: daily loss halt"
    if exposure.open_positions >= config.max_open_positions:
        return 0, f"risk: max open positions {config.max_open_positions} reached"
    price = signal.price
    per_share = abs(price - signal.stop)
    if per_share <= 0 or price <= 0:
        return 0, "risk: stop distance is zero"
    equity = exposure.equity
    by_risk = config.risk_per_trade_pct * equity / per_share
    by_size = config.max_position_pct * equity / price
    limits = [by_risk, by_size]
    if not config.allow_margin:
        limits.append(max(exposure.cash, 0.0) / price)
    room = config.max_gross_exposure_pct * equity - exposure.gross
    limits.append(max(room, 0.0) / price)
    qty = math.floor(min(limits) + 1e-9)
    if qty < 1:
        names = (
            ["risk", "max position", "cash", "gross exposure"]
            if not config.allow_margin
            else [
                "risk",
                "max position",
                "gross exposure",
            ]
        )
        binding = names[min(range(len(limits)), key=limits.__getitem__)]
        return 0, f"risk: size below 1 share (bound by {binding})"
    return (
        qty,
        f"risk: {qty} shares, risking {qty * per_share:.2f} ({qty * per_share / equity:.2%} of equity)",
    )
