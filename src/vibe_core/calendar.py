"""NYSE regular sessions as a plain table the pure code receives.

State: none; a :class:`SessionTable` is an immutable value built once by the shell
(:func:`nyse_sessions` asks ``exchange-calendars`` for holidays, early closes and DST) and handed
to the engine, which never calls the calendar library per event; a table's one lookup cache is
replaced whole, never mutated, and local times of day are memoized per (date, HH:MM).
Consumes: the exchange calendar's sessions (:func:`nyse_sessions`, at the shell's start); times
in ns UTC (lookups).
Emits: sessions (:class:`Session`) and session indexes for a time; conversions between ns UTC
and aware datetimes.
Invariants: sessions are sorted, disjoint, and each ``open < close``; all times are ns UTC.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from zoneinfo import ZoneInfo

import attrs

from vibe_core.types import NS_PER_MINUTE, NS_PER_SECOND

__all__ = ["Session", "SessionTable", "nyse_sessions", "NEW_YORK", "ns_to_datetime", "datetime_to_ns"]

NEW_YORK = ZoneInfo("America/New_York")


def ns_to_datetime(ts: int, tz: dt.tzinfo = NEW_YORK) -> dt.datetime:
    """ns UTC -> aware datetime in ``tz`` (microsecond precision)."""
    return dt.datetime.fromtimestamp(ts // 1000 / 1_000_000, tz=dt.UTC).astimezone(tz)


def datetime_to_ns(value: dt.datetime) -> int:
    """Aware datetime -> ns UTC; naive datetimes are refused (a silent timezone guess is a bug)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no timezone")
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


@attrs.frozen(kw_only=True)
class Session:
    """One regular session: its exchange-local date and open/close in ns UTC."""

    date: dt.date
    open: int
    close: int

    @property
    def early_close(self) -> bool:
        return ns_to_datetime(self.close).time() < dt.time(16, 0)

    def local_time_ns(self, hhmm: str) -> int:
        """``"15:00"`` on this session's date in New York, as ns UTC (DST-correct)."""
        return _local_time_ns(self.date, hhmm)


@functools.lru_cache(maxsize=4096)
def _local_time_ns(date: dt.date, hhmm: str) -> int:
    """Cached: each symbol asks at every session open, and a zone conversion costs ~10 us."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime_to_ns(dt.datetime.combine(date, dt.time(hour, minute), tzinfo=NEW_YORK))


@attrs.frozen
class SessionTable:
    """Sorted sessions with O(log n) lookups by timestamp."""

    sessions: tuple[Session, ...]
    _opens: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    #: ``(lo, hi, i)``: the last lookup's session index ``i`` holds for any ts in ``[lo, hi)`` (from
    #: one open to the next): the venue and engine ask about the same session many times in a row.
    #: Replaced whole, never mutated, so a reader in another thread sees one consistent lookup.
    _span: tuple[int, int, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        previous_close = None
        for s in self.sessions:
            if not s.open < s.close or (previous_close is not None and s.open < previous_close):
                raise ValueError(f"sessions must be sorted and disjoint; bad session {s.date}")
            previous_close = s.close
        object.__setattr__(self, "_opens", tuple(s.open for s in self.sessions))
        object.__setattr__(self, "_span", (0, 0, -1))  # (empty: lo == hi)

    def __len__(self) -> int:
        return len(self.sessions)

    def index_at(self, ts: int) -> int:
        """Index of the session open at ``ts`` (open <= ts < close), or -1 when the market is closed."""
        lo, hi, i = self._span
        if not lo <= ts < hi:
            i = self.last_index_at_or_before(ts)
        if i >= 0 and ts < self.sessions[i].close:
            return i
        return -1

    def session_at(self, ts: int) -> Session | None:
        i = self.index_at(ts)
        return self.sessions[i] if i >= 0 else None

    def is_open(self, ts: int) -> bool:
        return self.index_at(ts) >= 0

    def next_session(self, ts: int) -> Session | None:
        """The first session whose open is strictly after ``ts``."""
        i = bisect.bisect_right(self._opens, ts)
        return self.sessions[i] if i < len(self.sessions) else None

    def last_index_at_or_before(self, ts: int) -> int:
        """Index of the latest session that opened at or before ``ts`` (-1 if none)."""
        lo, hi, i = self._span
        if lo <= ts < hi:
            return i
        opens = self._opens
        i = bisect.bisect_right(opens, ts) - 1
        lo = opens[i] if i >= 0 else -(1 << 62)
        hi = opens[i + 1] if i + 1 < len(opens) else 1 << 62
        object.__setattr__(self, "_span", (lo, hi, i))
        return i

    def minutes_to_close(self, ts: int) -> float | None:
        s = self.session_at(ts)
        return None if s is None else (s.close - ts) / NS_PER_MINUTE

    def for_date(self, day: dt.date) -> Session | None:
        for s in self.sessions:
            if s.date == day:
                return s
        return None


def nyse_sessions(start: dt.date | str, end: dt.date | str) -> SessionTable:
    """NYSE regular sessions between two dates (inclusive), from ``exchange-calendars``."""
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS")
        lo = max(str(start), str(cal.first_session.date()))
        hi = min(str(end), str(cal.last_session.date()))
        schedule = cal.schedule.loc[lo:hi]
        opens = schedule["open"].to_numpy().astype("datetime64[ns]").astype("int64")
        closes = schedule["close"].to_numpy().astype("datetime64[ns]").astype("int64")
        rows = [
            Session(date=label.date(), open=int(o), close=int(c))
            for label, o, c in zip(schedule.index, opens, closes, strict=True)
        ]
    return SessionTable(tuple(rows))
