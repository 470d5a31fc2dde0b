"""Result files: the vectorised ISO-8601 times equal Python's isoformat, DST and sub-seconds included."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from vibe_backtest.results import _iso_strings

SECONDS = st.integers(946_684_800, 2_051_222_400)  # 2000 .. 2035


@given(st.lists(SECONDS, max_size=30), st.sampled_from(["America/New_York", "UTC", "Asia/Kolkata"]))
def test_iso_strings_equal_isoformat(seconds, zone):
    times = pd.to_datetime([s * 10**9 for s in seconds], utc=True).tz_convert(zone)
    assert list(_iso_strings(pd.DatetimeIndex(times))) == [t.isoformat() for t in times]


@given(st.lists(st.integers(0, 999_999), min_size=1, max_size=5), SECONDS)
def test_sub_second_times_keep_their_precision(micros, second):
    times = pd.to_datetime([second * 10**9 + m * 1000 for m in micros], utc=True).tz_convert(
        "America/New_York"
    )
    assert list(_iso_strings(pd.DatetimeIndex(times))) == [t.isoformat() for t in times]
