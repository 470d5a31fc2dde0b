"""Test support shipped with the core (like ``trio.testing``): import the submodules explicitly.

State: none (its submodules hold builders and hypothesis strategies, no state).
Consumes: nothing.
Emits: nothing here.
Invariants: importing it imports no test dependency (hypothesis is needed only by
:mod:`vibe_core.testing.strategies`).

- :mod:`vibe_core.testing.strategies`: hypothesis strategies for every value, event and action
  (needs hypothesis, a test dependency, so it is not imported here).
- :mod:`vibe_core.testing.builders`: one-line event and value builders with defaults.
- :mod:`vibe_core.testing.market`: hand-written and seeded random market days.
"""

from __future__ import annotations

__all__: list[str] = []
