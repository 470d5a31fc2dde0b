"""The one cattrs converter of the project: value types <-> JSON-safe dicts.

State: none of its own: the one converter is :mod:`vibe_core.converter`'s, imported on first use
(:func:`get_converter`): configuring the two tagged unions costs ~16 ms, which a backtest that
never saves its state or sends an event over the wire would pay at import for nothing.
Consumes: value types (events, actions, models) or their JSON-safe dicts.
Emits: JSON-safe dicts tagged with ``"type"`` for the unions; value types, built through their
checked constructors (a bad field raises, naming it).
Invariants: ``structure(unstructure(x), type(x)) == x`` for every event, action and model value,
and the same through the :data:`~vibe_core.events.Event` / :data:`~vibe_core.actions.Action`
unions (``tests/vibe_core/test_codec.py``); extra or missing keys are refused; every caller,
in any thread, gets the same converter.

Events and actions are tagged unions: their dicts carry ``"type": "<ClassName>"``. Serialization
happens only at the edges (store, API, files); the core passes objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vibe_core.actions import Action
from vibe_core.events import Event

if TYPE_CHECKING:
    import cattrs

    converter: cattrs.Converter  #: built on first access (``__getattr__`` below)

__all__ = [
    "converter",
    "get_converter",
    "unstructure",
    "structure",
    "event_to_dict",
    "event_from_dict",
    "action_to_dict",
]


def get_converter() -> cattrs.Converter:
    """The converter (also ``vibe_core.codec.converter``), configured the first time it is asked for."""
    from vibe_core.converter import converter  # (its import builds it, once: see that module)

    return converter


def __getattr__(name: str) -> Any:
    """``converter``: the module's converter, built on first access (PEP 562)."""
    if name == "converter":
        return get_converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def unstructure(obj: Any) -> Any:
    """Any core value -> JSON-safe data."""
    return get_converter().unstructure(obj)


def structure(data: Any, cls: Any) -> Any:
    """JSON-safe data -> ``cls``; raises a cattrs error naming the bad field."""
    return get_converter().structure(data, cls)


def event_to_dict(event: Event) -> dict[str, Any]:
    result: dict[str, Any] = get_converter().unstructure(event, Event)
    return result


def event_from_dict(data: dict[str, Any]) -> Event:
    result: Event = get_converter().structure(data, Event)  # type: ignore[arg-type]
    return result


def action_to_dict(action: Action) -> dict[str, Any]:
    result: dict[str, Any] = get_converter().unstructure(action, Action)
    return result
