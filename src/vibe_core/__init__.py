"""vibe_core: the pure, deterministic trading core.

Everything here is ``step(state, event) -> (state, actions)``: no IO, no wall clock, no unseeded
randomness. Shells (``vibe_backtest``, ``vibe_live``) feed events and carry out actions.
"""

from vibe_core.actions import Action
from vibe_core.calendar import SessionTable, nyse_sessions
from vibe_core.config import Config, ConfigError, config_from_dict
from vibe_core.engine import EngineState, load_state, new_state, save_state, step
from vibe_core.events import Event

__all__ = [
    "Action",
    "Config",
    "ConfigError",
    "EngineState",
    "Event",
    "SessionTable",
    "config_from_dict",
    "load_state",
    "new_state",
    "nyse_sessions",
    "save_state",
    "step",
]
