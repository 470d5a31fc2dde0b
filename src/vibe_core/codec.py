"""The one cattrs converter of the project: value types <-> JSON-safe dicts.

State: the module's one converter (configured once at import).
Consumes: value types (events, actions, models) or their JSON-safe dicts.
Emits: JSON-safe dicts tagged with ``"type"`` for the unions; value types, built through their
checked constructors (a bad field raises, naming it).
Invariants: ``structure(unstructure(x), type(x)) == x`` for every event, action and model value,
and the same through the :data:`~vibe_core.events.Event` / :data:`~vibe_core.actions.Action`
unions (``tests/vibe_core/test_codec.py``); extra or missing keys are refused.

Events and actions are tagged unions: their dicts carry ``"type": "<ClassName>"``. Serialization
happens only at the edges (store, API, files); the core passes objects.
"""

from __future__ import annotations

from typing import Any

import cattrs
from cattrs.strategies import configure_tagged_union

from vibe_core.actions import Action
from vibe_core.events import Event

__all__ = ["converter", "unstructure", "structure", "event_to_dict", "event_from_dict", "action_to_dict"]

converter = cattrs.Converter(forbid_extra_keys=True)
configure_tagged_union(Event, converter, tag_name="type")
configure_tagged_union(Action, converter, tag_name="type")


def unstructure(obj: Any) -> Any:
    """Any core value -> JSON-safe data."""
    return converter.unstructure(obj)


def structure(data: Any, cls: Any) -> Any:
    """JSON-safe data -> ``cls``; raises a cattrs error naming the bad field."""
    return converter.structure(data, cls)


def event_to_dict(event: Event) -> dict[str, Any]:
    result: dict[str, Any] = converter.unstructure(event, Event)
    return result


def event_from_dict(data: dict[str, Any]) -> Event:
    result: Event = converter.structure(data, Event)  # type: ignore[arg-type]
    return result


def action_to_dict(action: Action) -> dict[str, Any]:
    result: dict[str, Any] = converter.unstructure(action, Action)
    return result
