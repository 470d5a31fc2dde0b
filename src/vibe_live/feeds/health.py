"""What the shell knows of its feed's health, for the API, the metrics and the logs.

State: connection up/down and since when, reconnects, per-kind fault counts, the receive time of
the latest message and of each symbol's latest print (wall clock, ns UTC).
Written by the feed (and the service as it applies prints); read by monitoring. It is an
observation of the shell, not an input of the core: what the core must know of the feed arrives as
logged :class:`~vibe_core.events.FeedStatus` events.
"""

from __future__ import annotations

from collections import Counter

import attrs

__all__ = ["FeedHealth"]


@attrs.define
class FeedHealth:
    """Mutable, owned by one feed; readers on the same event loop see it between steps."""

    connected: bool = False
    changed_ns: int = 0  #: wall time of the last connect or disconnect
    reconnects: int = 0  #: connections made after the first
    last_message_ns: int = 0  #: wall time of the latest frame or ping
    last_print_ns: dict[str, int] = attrs.Factory(dict)  #: symbol -> wall time of its latest print
    faults: Counter[str] = attrs.Factory(Counter)  #: kind -> count (malformed JSON, unknown type...)

    def up(self, now_ns: int) -> None:
        if self.changed_ns:
            self.reconnects += 1
        self.connected, self.changed_ns = True, now_ns

    def down(self, now_ns: int) -> None:
        self.connected, self.changed_ns = False, now_ns
