"""NYSE sessions on real dates (holidays, early closes, DST) and the SessionTable lookups.

The ``sessions`` fixture (tests/conftest.py) builds 2024-2025 once per run.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vibe_core.calendar import NEW_YORK, Session, SessionTable, datetime_to_ns, ns_to_datetime
from vibe_core.types import NS_PER_MINUTE, NS_PER_SECOND

UTC = dt.UTC


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return datetime_to_ns(dt.datetime(y, mo, d, h, mi, tzinfo=UTC))


def et(day: str, hhmm: str) -> int:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime_to_ns(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(h, m), tzinfo=NEW_YORK))


def session(sessions: SessionTable, day: str) -> Session:
    s = sessions.for_date(dt.date.fromisoformat(day))
    assert s is not None, f"{day} should be a session"
    return s


# -- holidays and early closes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2024-07-04",  # Independence Day
        "2025-01-09",  # national day of mourning (President Carter)
        "2024-12-25",
        "2024-03-29",  # Good Friday
        "2024-07-06",  # a Saturday
    ],
)
def test_closed_days(sessions, day):
    assert sessions.for_date(dt.date.fromisoformat(day)) is None
    assert not sessions.is_open(et(day, "12:00"))
    assert sessions.session_at(et(day, "12:00")) is None


@pytest.mark.parametrize("day", ["2024-07-03", "2024-11-29", "2024-12-24"])
def test_early_closes_at_13_00(sessions, day):
    s = session(sessions, day)
    assert s.early_close
    assert s.open == et(day, "09:30")
    assert s.close == et(day, "13:00")
    assert (s.close - s.open) == 210 * NS_PER_MINUTE


@pytest.mark.parametrize("day", ["2024-07-05", "2024-11-27", "2025-01-10"])
def test_full_days_close_at_16_00(sessions, day):
    s = session(sessions, day)
    assert not s.early_close
    assert s.close == et(day, "16:00")


# -- DST: 09:30 ET is 14:30 UTC in winter, 13:30 UTC in summer ----------------------------------


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc"),
    [
        ("2024-03-08", (14, 30), (21, 0)),  # Friday before the spring change (EST)
        ("2024-03-11", (13, 30), (20, 0)),  # Monday after it (EDT)
        ("2024-11-01", (13, 30), (20, 0)),  # Friday before the autumn change (EDT)
        ("2024-11-04", (14, 30), (21, 0)),  # Monday after it (EST)
    ],
)
def test_open_and_close_follow_dst(sessions, day, open_utc, close_utc):
    s = session(sessions, day)
    y, mo, d = (int(x) for x in day.split("-"))
    assert s.open == utc(y, mo, d, *open_utc)
    assert s.close == utc(y, mo, d, *close_utc)
    assert ns_to_datetime(s.open).time() == dt.time(9, 30)
    assert ns_to_datetime(s.open).tzinfo == NEW_YORK


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [("2024-03-08", 20), ("2024-03-11", 19), ("2024-11-01", 19), ("2024-11-04", 20)],
)
def test_local_time_ns_across_dst(sessions, day, utc_hour):
    s = session(sessions, day)
    y, mo, d = (int(x) for x in day.split("-"))
    assert s.local_time_ns("15:00") == utc(y, mo, d, utc_hour)
    assert s.local_time_ns("09:30") == s.open


# -- lookups -----------------------------------------------------------------------------------


def test_index_at_open_inclusive_close_exclusive(sessions):
    s = session(sessions, "2024-03-11")
    i = sessions.sessions.index(s)
    assert sessions.index_at(s.open) == i
    assert sessions.index_at(s.open - 1) == -1
    assert sessions.index_at(s.close - 1) == i
    assert sessions.index_at(s.close) == -1
    assert sessions.session_at(s.open) == s
    assert sessions.session_at(s.close) is None
    assert sessions.is_open(s.open)
    assert not sessions.is_open(s.close)


def test_minutes_to_close(sessions):
    s = session(sessions, "2024-07-03")  # early close 13:00
    assert sessions.minutes_to_close(s.open) == 210.0
    assert sessions.minutes_to_close(et("2024-07-03", "12:55")) == 5.0
    assert sessions.minutes_to_close(s.close - 30 * NS_PER_SECOND) == 0.5
    assert sessions.minutes_to_close(s.close) is None
    assert sessions.minutes_to_close(et("2024-07-04", "10:00")) is None


def test_next_session_skips_holiday(sessions):
    after_close = et("2024-07-03", "13:00")
    nxt = sessions.next_session(after_close)
    assert nxt is not None
    assert nxt.date == dt.date(2024, 7, 5)
    # strictly after: at the open itself, the next session is the following one
    s = session(sessions, "2024-07-05")
    assert sessions.next_session(s.open - 1) == s
    following = sessions.next_session(s.open)
    assert following is not None
    assert following.date == dt.date(2024, 7, 8)


def test_next_session_over_mourning_day(sessions):
    nxt = sessions.next_session(et("2025-01-08", "16:00"))
    assert nxt is not None
    assert nxt.date == dt.date(2025, 1, 10)


def test_last_index_at_or_before(sessions):
    s = session(sessions, "2024-07-03")
    i = sessions.sessions.index(s)
    assert sessions.last_index_at_or_before(et("2024-07-04", "12:00")) == i
    assert sessions.last_index_at_or_before(s.open) == i
    assert sessions.last_index_at_or_before(s.open - 1) == i - 1
    assert sessions.last_index_at_or_before(sessions.sessions[0].open - 1) == -1


def test_table_rejects_unsorted_or_overlapping():
    a = Session(date=dt.date(2024, 1, 2), open=100, close=200)
    b = Session(date=dt.date(2024, 1, 3), open=150, close=300)
    with pytest.raises(ValueError, match="sorted and disjoint"):
        SessionTable((a, b))
    with pytest.raises(ValueError, match="sorted and disjoint"):
        SessionTable((Session(date=dt.date(2024, 1, 2), open=200, close=200),))
    assert len(SessionTable((a,))) == 1


# -- datetime conversions ----------------------------------------------------------------------


def test_naive_datetime_refused():
    with pytest.raises(ValueError, match="naive"):
        datetime_to_ns(dt.datetime(2024, 3, 8, 9, 30))


def test_datetime_to_ns_known_value():
    assert datetime_to_ns(dt.datetime(1970, 1, 2, tzinfo=UTC)) == 86_400 * NS_PER_SECOND
    assert datetime_to_ns(dt.datetime(2024, 3, 8, 9, 30, tzinfo=NEW_YORK)) == utc(2024, 3, 8, 14, 30)


@settings(max_examples=300, deadline=None)
@given(
    ts=st.integers(
        datetime_to_ns(dt.datetime(2000, 1, 1, tzinfo=UTC)),
        datetime_to_ns(dt.datetime(2100, 1, 1, tzinfo=UTC)),
    )
)
def test_ns_datetime_round_trip(ts):
    value = ns_to_datetime(ts)
    assert value.tzinfo == NEW_YORK
    assert datetime_to_ns(value) == ts - ts % 1000  # microsecond precision, truncated
    assert datetime_to_ns(ns_to_datetime(ts, UTC)) == ts - ts % 1000


@settings(max_examples=200, deadline=None)
@given(
    value=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2099, 12, 31),
        timezones=st.sampled_from([UTC, NEW_YORK]),
        allow_imaginary=False,
    )
)
def test_datetime_ns_round_trip(value):
    back = ns_to_datetime(datetime_to_ns(value), value.tzinfo)
    assert back == value
    assert back.utcoffset() == value.utcoffset()


# -- lookups against a linear scan -------------------------------------------------------------


def linear_index(table: SessionTable, ts: int) -> int:
    for i, s in enumerate(table.sessions):
        if s.open <= ts < s.close:
            return i
    return -1


def linear_next(table: SessionTable, ts: int) -> Session | None:
    return next((s for s in table.sessions if s.open > ts), None)


@st.composite
def tables_and_times(draw):
    """A random sorted, disjoint table (gaps may be zero) and probe times around its edges."""
    n = draw(st.integers(0, 8))
    t = draw(st.integers(0, 50))
    sessions = []
    for k in range(n):
        t += draw(st.integers(0, 20))
        length = draw(st.integers(1, 20))
        sessions.append(Session(date=dt.date(2024, 1, 1) + dt.timedelta(days=k), open=t, close=t + length))
        t += length
    edges = [x for s in sessions for x in (s.open - 1, s.open, s.close - 1, s.close)]
    probes = draw(st.lists(st.one_of(st.integers(-5, t + 5), st.sampled_from(edges or [0])), min_size=1))
    return SessionTable(tuple(sessions)), probes


@settings(max_examples=300, deadline=None)
@given(tables_and_times())
def test_lookups_match_linear_scan(case):
    table, probes = case
    for ts in probes:
        i = linear_index(table, ts)
        assert table.index_at(ts) == i
        assert table.is_open(ts) == (i >= 0)
        assert table.session_at(ts) == (table.sessions[i] if i >= 0 else None)
        assert table.next_session(ts) == linear_next(table, ts)
        expected_last = max((k for k, s in enumerate(table.sessions) if s.open <= ts), default=-1)
        assert table.last_index_at_or_before(ts) == expected_last
        minutes = table.minutes_to_close(ts)
        assert minutes == (None if i < 0 else (table.sessions[i].close - ts) / NS_PER_MINUTE)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_real_table_lookups_match_linear_scan(sessions, data):
    first, last = sessions.sessions[0], sessions.sessions[-1]
    s = data.draw(st.sampled_from(sessions.sessions))
    ts = data.draw(
        st.one_of(
            st.integers(first.open - 86_400 * NS_PER_SECOND, last.close + 86_400 * NS_PER_SECOND),
            st.integers(s.open - 2 * NS_PER_MINUTE, s.open + 2 * NS_PER_MINUTE),
            st.integers(s.close - 2 * NS_PER_MINUTE, s.close + 2 * NS_PER_MINUTE),
        )
    )
    i = linear_index(sessions, ts)
    assert sessions.index_at(ts) == i
    assert sessions.next_session(ts) == linear_next(sessions, ts)
