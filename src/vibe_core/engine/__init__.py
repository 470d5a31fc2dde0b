"""The engine: one ``step(state, event) -> (state, actions)`` composing every reducer.

State: :class:`EngineState` (see :mod:`~vibe_core.engine.state`); this module re-exports.
Consumes: every :data:`~vibe_core.events.Event` (:func:`step`).
Emits: :data:`~vibe_core.actions.Action` s.
Invariants: those of :mod:`~vibe_core.engine.step`; ``load_state(save_state(s))`` continues
exactly like ``s``.

:mod:`~vibe_core.engine.step` is the composition (the stages of DESIGN §3, in order);
:mod:`~vibe_core.engine.door` checks events before they change anything;
:mod:`~vibe_core.engine.session` keeps time (sessions, flatten, close);
:mod:`~vibe_core.engine.orders` is the order flow (signal -> validation -> risk -> orders -> fills);
:mod:`~vibe_core.engine.book` the book of an external broker's orders;
:mod:`~vibe_core.engine.deadline` tells the live shell when the core next has work;
:mod:`~vibe_core.engine.persist` saves and loads the whole state.
"""

from vibe_core.engine.deadline import next_deadline
from vibe_core.engine.persist import SCHEMA, load_state, save_state
from vibe_core.engine.state import PRIMARY, EngineState, PendingEntry, new_state
from vibe_core.engine.step import step

__all__ = [
    "EngineState",
    "PendingEntry",
    "new_state",
    "step",
    "next_deadline",
    "save_state",
    "load_state",
    "SCHEMA",
    "PRIMARY",
]
