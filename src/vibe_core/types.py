"""Vocabulary shared by every reducer: enums, timeframes and nanosecond time helpers.

State: none: enums, constants and pure helpers.
Consumes: nothing.
Emits: the shared vocabulary (:class:`Side`, :class:`OrderType`, :class:`TimeInForce`,
:class:`OrderStatus`, :class:`Severity`, :class:`ExitReason`, :class:`Timeframe`) and ns units.
Invariants: :class:`Timeframe` members are ordered by length (an ``IntEnum`` of seconds) and each
divides the next; labels (``5m``) parse back to their member.

Timestamps are integer nanoseconds since the Unix epoch, UTC (``ts``). Conversion to
America/New_York happens only at the edges and in :mod:`vibe_core.calendar`.
"""

from __future__ import annotations

import enum

__all__ = [
    "NS_PER_SECOND",
    "NS_PER_MINUTE",
    "NS_PER_MS",
    "Side",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "Severity",
    "ExitReason",
    "Timeframe",
    "seconds",
    "minutes",
]

NS_PER_MS = 1_000_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND


def seconds(n: float) -> int:
    """``n`` seconds in nanoseconds."""
    return int(n * NS_PER_SECOND)


def minutes(n: float) -> int:
    """``n`` minutes in nanoseconds."""
    return int(n * NS_PER_MINUTE)


class _Enum(enum.Enum):
    """The base of the core's enums (members compare by identity; values are their wire spelling)."""


class Side(_Enum):
    BUY = "buy"
    SELL = "sell"

    sign: int  #: +1 for buys, -1 for sells: the sign of the position change (a plain attribute)

    def __init__(self, value: str) -> None:
        self.sign = 1 if value == "buy" else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(_Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(_Enum):
    DAY = "day"
    GTC = "gtc"


class OrderStatus(_Enum):
    """Lifecycle of an order; transitions live in :mod:`vibe_core.orders`."""

    PENDING = "pending"  #: submitted, waiting for its fill delay to pass
    ACCEPTED = "accepted"  #: resting at the venue
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class Severity(_Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class ExitReason(_Enum):
    TARGET = "target"
    STOP = "stop"
    EOD = "eod"
    CLOSE_ALL = "close_all"
    HALT = "halt"


class Timeframe(enum.IntEnum):
    """Bar sizes in seconds; bars are stamped at their open and aligned to the session open."""

    M1 = 60
    M5 = 300
    M15 = 900
    H1 = 3600

    @property
    def ns(self) -> int:
        return int(self) * NS_PER_SECOND

    @property
    def label(self) -> str:
        return {60: "1m", 300: "5m", 900: "15m", 3600: "1h"}[int(self)]

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """``"5m"`` -> ``Timeframe.M5``; raises ``ValueError`` naming the text."""
        for tf in cls:
            if tf.label == text:
                return tf
        raise ValueError(f"unknown timeframe {text!r}; expected one of 1m, 5m, 15m, 1h")
