"""The read model: a frozen view of the engine for the API and the dashboard.

State: none; :func:`read_model` derives an :class:`EngineSnapshot` from an ``EngineState``.
Consumes: an ``EngineState`` (read only).
Emits: :class:`EngineSnapshot`: account, positions, working orders (the simulated venue's, or the
external broker's book), marks, risk flags and the counters of late prints and refused events.
Invariants: frozen and independent of the state (the live shell swaps one per step, so readers
never see a state half-way through an event); reading never changes the state. Persistence (exact
restore) is :func:`vibe_core.engine.save_state`; this is for people.
"""

from __future__ import annotations

import attrs

from vibe_core.engine import EngineState
from vibe_core.models import AccountView, Order, PositionView

__all__ = ["EngineSnapshot", "read_model"]


@attrs.frozen(kw_only=True)
class EngineSnapshot:
    ts: int  #: time of the latest event (ns UTC)
    session_date: str | None  #: YYYY-MM-DD of the current or last session
    session_open: bool
    account: AccountView
    positions: tuple[PositionView, ...]
    working_orders: tuple[Order, ...]
    last_prices: tuple[tuple[str, float], ...]
    paused: bool
    halted: bool
    session_start_equity: float
    late_prints: int
    fills: int
    rejected_events: tuple[tuple[str, int], ...] = ()  #: (reason, count) of events refused at the door


def read_model(state: EngineState) -> EngineSnapshot:
    """A consistent, immutable view of ``state`` (cheap: positions and orders are few)."""
    session = state.session
    portfolio = state.portfolio
    if state.venue is not None:
        orders = tuple(state.venue.open_orders())
    else:
        orders = () if state.book is None else tuple(state.book.working())
    return EngineSnapshot(
        ts=state.now,
        session_date=None if session is None else session.date.isoformat(),
        session_open=session is not None and not state.session_closed,
        account=portfolio.account(state.now),
        positions=tuple(portfolio.position_views()),
        working_orders=orders,
        last_prices=tuple(sorted(portfolio.marks.items())),
        paused=state.risk.paused,
        halted=state.risk.halted,
        session_start_equity=state.risk.session_start_equity,
        late_prints=state.bars.late_prints,
        fills=portfolio.n_fills,
        rejected_events=tuple(sorted(state.rejected.items())),
    )
