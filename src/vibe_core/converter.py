"""The project's cattrs converter, configured when this module is first imported.

State: the one converter (:data:`converter`); :mod:`vibe_core.codec` imports this module on first
use, so a run that never serializes does not pay for configuring the two tagged unions (~16 ms).
Consumes: nothing. Emits: nothing.
Invariants: one converter for every caller in any thread: Python's import lock runs this module's
body once, and a second importer waits for it (no lock of our own, so the core imports no
threading).
"""

from __future__ import annotations

import cattrs
from cattrs.strategies import configure_tagged_union

from vibe_core.actions import Action
from vibe_core.events import Event

__all__ = ["converter"]

converter = cattrs.Converter(forbid_extra_keys=True)
configure_tagged_union(Event, converter, tag_name="type")
configure_tagged_union(Action, converter, tag_name="type")
