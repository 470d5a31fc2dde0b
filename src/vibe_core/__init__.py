"""vibe_core: the pure, deterministic trading core.

State: none here: the engine's state is :class:`~vibe_core.engine.EngineState`; this package
module only re-exports the public API (``__all__``).
Consumes: nothing itself (see :func:`step`).
Emits: nothing itself.
Invariants: importing it has no side effect beyond registering the built-in strategies, rules and
order types; everything in ``__all__`` is importable from here.

Everything here is ``step(state, event) -> (state, actions)``: no IO, no wall clock, no unseeded
randomness. Shells (``vibe_backtest``, ``vibe_live``) feed events and carry out actions: they build
a state with :func:`new_state`, send events through :func:`step`, sleep until
:func:`next_deadline`, persist with :func:`save_state` / :func:`load_state`, show
:func:`read_model`, and (de)serialize events and actions with :func:`unstructure` /
:func:`structure`.
"""

from vibe_core.actions import (
    Action,
    CancelOrder,
    EventRejected,
    FeedGap,
    Notify,
    RiskHalted,
    SignalEvaluated,
    SubmitOrder,
    TradeClosed,
)
from vibe_core.calendar import SessionTable, nyse_sessions
from vibe_core.codec import structure, unstructure
from vibe_core.config import Config, ConfigError, config_from_dict
from vibe_core.engine import EngineState, load_state, new_state, next_deadline, save_state, step
from vibe_core.errors import InvariantViolation, SnapshotError
from vibe_core.events import (
    Bar,
    BarSlice,
    Clock,
    CloseAll,
    Event,
    FeedStatus,
    Filled,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Pause,
    Resume,
    Trade,
)
from vibe_core.snapshot import EngineSnapshot, read_model

__all__ = [
    # the engine
    "EngineState",
    "new_state",
    "step",
    "next_deadline",
    "save_state",
    "load_state",
    "read_model",
    "EngineSnapshot",
    # events
    "Event",
    "Trade",
    "Bar",
    "BarSlice",
    "Clock",
    "OrderAccepted",
    "OrderRejected",
    "Filled",
    "OrderCancelled",
    "Pause",
    "Resume",
    "FeedStatus",
    "CloseAll",
    # actions
    "Action",
    "SubmitOrder",
    "CancelOrder",
    "Notify",
    "TradeClosed",
    "SignalEvaluated",
    "RiskHalted",
    "EventRejected",
    "FeedGap",
    # the codec
    "structure",
    "unstructure",
    # config and calendar
    "Config",
    "ConfigError",
    "config_from_dict",
    "SessionTable",
    "nyse_sessions",
    # errors
    "InvariantViolation",
    "SnapshotError",
]
