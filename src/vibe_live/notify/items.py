"""One notification item: what the outbox stores and the packer turns into Discord embeds.

An item is the unit of idempotency: its ``key`` is deterministic from its source (``trade:8560:1`` is
the action at index 1 of the event logged at seq 8560), so deriving it again after a restart finds
the outbox row already there and adds nothing. ``kind`` groups items for coalescing and for the
per-type switches; ``urgent`` items (risk halt, long feed outage, fatal error, shutdown) skip the
coalescing window and go out alone.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

__all__ = ["Item", "KINDS", "SEVERITIES", "COLORS"]

#: the kinds of item, each switched by ``notifications.send_<switch>``
KINDS: dict[str, str] = {
    "service": "service",
    "fill": "fills",
    "trade": "trades",
    "veto": "vetoes",
    "halt": "halts",
    "feed": "feed",
    "gap": "feed",
    "summary": "summary",
    "error": "errors",
    "notice": "notices",
}
SEVERITIES = ("info", "warning", "critical")
COLORS = {"info": 0x3498DB, "warning": 0xE67E22, "critical": 0xE74C3C, "profit": 0x2ECC71}


@attrs.frozen(kw_only=True)
class Item:
    """A notification before packing: title, optional description, ``(name, value)`` fields."""

    key: str
    kind: str
    severity: str = "info"
    title: str
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    ts: int = 0  #: the source's time (ns UTC); 0: none
    urgent: bool = False
    color: int | None = None  #: None: the severity's

    def __attrs_post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"notification {self.key!r}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})"
            )
        if self.severity not in SEVERITIES:
            raise ValueError(f"notification {self.key!r}: unknown severity {self.severity!r}")

    @property
    def colour(self) -> int:
        return COLORS[self.severity] if self.color is None else self.color

    def compact(self) -> str:
        """The item as one field value (coalesced with others): description, then ``name: value`` lines."""
        lines = [self.description] if self.description else []
        lines += [f"{name}: {value}" for name, value in self.fields]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Item:
        data: dict[str, Any] = json.loads(text)
        data["fields"] = tuple((str(n), str(v)) for n, v in data.get("fields", ()))
        return cls(**data)
