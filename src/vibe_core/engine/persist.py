"""The whole engine state as versioned JSON-safe data, and back.

State: none.
Consumes: an :class:`~vibe_core.engine.state.EngineState` (:func:`save_state`) or saved data
(:func:`load_state`).
Emits: ``{"schema": SCHEMA, ...}`` data; the restored state.
Invariants: :func:`save_state` has no side effects (saving twice gives equal data, and a saved
state steps exactly like an unsaved twin); ``load_state(save_state(s))`` continues exactly like
``s``; data of another schema is refused with :class:`~vibe_core.errors.SnapshotError`.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from vibe_core.bars import BarAggregator
from vibe_core.calendar import SessionTable
from vibe_core.codec import structure, unstructure
from vibe_core.config import config_from_dict, config_to_dict
from vibe_core.engine.book import BrokerBook
from vibe_core.engine.state import EngineState, PendingEntry
from vibe_core.errors import SnapshotError
from vibe_core.events import Bar
from vibe_core.feedgate import FeedGate
from vibe_core.indicators import IndicatorBank
from vibe_core.portfolio import Portfolio
from vibe_core.risk import RiskState
from vibe_core.sim.venue import Venue
from vibe_core.strategy import restore_strategy
from vibe_core.validation import Validator

__all__ = ["SCHEMA", "save_state", "load_state"]

#: version of the layout below; bump it (and say how to migrate) on any change.
#: 2: ``feed`` (the feed gate) added; a schema-1 snapshot is refused (its log was written with a
#: config that had no ``feed`` section, so the store refuses it anyway): start a new store.
SCHEMA: Final = 2


def save_state(state: EngineState) -> dict[str, Any]:
    """The whole engine state as JSON-safe data; :func:`load_state` restores it exactly."""
    return {
        "schema": SCHEMA,
        "config": config_to_dict(state.config),
        "external_broker": state.venue is None,
        "bars": state.bars.snapshot(),
        "indicators": state.indicators.snapshot(),
        "venue": None if state.venue is None else state.venue.snapshot(),
        "book": None if state.book is None else state.book.snapshot(),
        "portfolio": state.portfolio.snapshot(),
        "risk": state.risk.snapshot(),
        "strategy": state.strategy.snapshot(),
        "validator": state.validator.snapshot(),
        "session_index": state.session_index,
        "session_closed": state.session_closed,
        "flattened": state.flattened,
        "day": state.day,
        "order_seq": state.order_seq,
        "now": state.now,
        "pending": {s: attrs.asdict(p) for s, p in state.pending.items()},
        "wake": state.wake,
        "deferred": [unstructure(b) for b in state.deferred],
        "rejected": dict(state.rejected),
        "feed": state.feed.snapshot(),
    }


def load_state(data: dict[str, Any], sessions: SessionTable) -> EngineState:
    """The state :func:`save_state` gave ``data``; refuses another schema with :class:`SnapshotError`."""
    found = data.get("schema") if isinstance(data, dict) else None
    if found != SCHEMA:
        shown = "no schema version" if found is None else f"schema {found!r}"
        raise SnapshotError(f"engine snapshot has {shown}; this version reads schema {SCHEMA}")
    try:
        config = config_from_dict(data["config"])
        venue = None
        if data["venue"] is not None:
            venue = Venue.restore(data["venue"], config.exchange.fill_model(), sessions)
        book = None if data["book"] is None else BrokerBook.restore(data["book"])
        return EngineState(
            config=config,
            sessions=sessions,
            bars=BarAggregator.restore(data["bars"], sessions),
            indicators=IndicatorBank.restore(data["indicators"]),
            venue=venue,
            book=book,
            portfolio=Portfolio.restore(data["portfolio"]),
            risk=RiskState.restore(data["risk"]),
            strategy=restore_strategy(config, data["strategy"]),
            validator=Validator.restore(config.validation, data["validator"]),
            session_index=data["session_index"],
            session_closed=data["session_closed"],
            flattened=data["flattened"],
            day=data["day"],
            order_seq=data["order_seq"],
            now=data["now"],
            pending={s: PendingEntry(**p) for s, p in data["pending"].items()},
            wake=data["wake"],
            deferred=[structure(b, Bar) for b in data["deferred"]],
            rejected=dict(data["rejected"]),
            feed=FeedGate.restore(
                data["feed"], stale_seconds=config.feed.stale_seconds, symbols=config.symbols
            ),
        )
    except KeyError as exc:
        raise SnapshotError(f"engine snapshot (schema {SCHEMA}) lacks the key {exc.args[0]!r}") from None
