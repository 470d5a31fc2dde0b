"""Loading, validating and merging bar files (vibe_backtest.data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibe_backtest.data import (
    BarSeries,
    DataError,
    date_range,
    iter_bars,
    load_dir,
    load_file,
    save_file,
)
from vibe_core.calendar import datetime_to_ns
from vibe_core.types import Timeframe

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "yahoo-5m-2024-05"
FIVE = 300 * 10**9
HEADER = "timestamp,open,high,low,close,volume"


def local(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=NY)


def ns(day: str, hhmm: str) -> int:
    return datetime_to_ns(local(day, hhmm))


def rows(
    day: str = "2024-05-01", start: str = "09:30", n: int = 12, step: int = 5
) -> list[dict[str, object]]:
    """``n`` consistent bars from ``start`` every ``step`` minutes, naive New York time."""
    first = local(day, start)
    out = []
    for i in range(n):
        o = 100.0 + i
        out.append(
            {
                "when": first + dt.timedelta(minutes=step * i),
                "open": o,
                "high": o + 1.0,
                "low": o - 1.0,
                "close": o + 0.5,
                "volume": 1000 + i,
            }
        )
    return out


def csv_text(data: list[dict[str, object]], header: str = HEADER, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    lines = [header]
    for r in data:
        when = r["when"].strftime(fmt) if isinstance(r["when"], dt.datetime) else str(r["when"])
        lines.append(f"{when},{r['open']},{r['high']},{r['low']},{r['close']},{r['volume']}")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "AAPL.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def expected_ts(data: list[dict[str, object]]) -> list[int]:
    return [datetime_to_ns(r["when"]) for r in data]  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Accepted layouts


def test_yahoo_layout_date_time_naive_new_york_adj_close_ignored(tmp_path):
    data = rows()
    lines = ["Date Time,Open,High,Low,Close,Volume,Adj Close"]
    for r in data:
        lines.append(
            f"{r['when']:%Y-%m-%d %H:%M:%S},{r['open']},{r['high']},{r['low']},{r['close']},{r['volume']},1.0"
        )
    series = load_file(write(tmp_path, "\n".join(lines) + "\n", "aapl.csv"))
    assert series.symbol == "AAPL"
    assert series.timeframe is Timeframe.M5
    assert series.source == "file"
    assert series.ts.tolist() == expected_ts(data)
    assert series.ts[0] == int(dt.datetime(2024, 5, 1, 13, 30, tzinfo=UTC).timestamp()) * 10**9
    assert series.close.tolist() == [r["close"] for r in data]
    assert series.volume.tolist() == [float(r["volume"]) for r in data]


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("timestamp,open,high,low,close,volume", "%Y-%m-%dT%H:%M:%S%z"),  # aware, offset
        ("Datetime,Open,High,Low,Close,Volume", "%Y-%m-%d %H:%M"),  # naive
        ("DATE_TIME,OPEN,HIGH,LOW,CLOSE,VOLUME", "%Y-%m-%d %H:%M:%S"),
        ("date,open,high,low,close,volume", "%Y-%m-%d %H:%M:%S"),
        ("Time,Open,High,Low,Close,Volume", "%Y-%m-%d %H:%M:%S"),
    ],
)
def test_csv_column_spellings(tmp_path, header, fmt):
    data = rows()
    series = load_file(write(tmp_path, csv_text(data, header, fmt)))
    assert series.ts.tolist() == expected_ts(data)
    assert series.high.tolist() == [r["high"] for r in data]


def test_utc_timestamp_column(tmp_path):
    data = rows()
    text = csv_text([{**r, "when": r["when"].astimezone(UTC)} for r in data], fmt="%Y-%m-%dT%H:%M:%SZ")
    assert "T13:30:00Z" in text
    assert load_file(write(tmp_path, text)).ts.tolist() == expected_ts(data)


def test_other_timezone_for_naive_times(tmp_path):
    data = rows()
    chicago = [
        {**r, "when": r["when"].astimezone(ZoneInfo("America/Chicago")).replace(tzinfo=None)} for r in data
    ]
    series = load_file(write(tmp_path, csv_text(chicago)), tz="America/Chicago")
    assert series.ts.tolist() == expected_ts(data)


def test_separate_date_and_time_columns(tmp_path):
    data = rows()
    lines = ["Date,Time,Open,High,Low,Close,Volume"]
    for r in data:
        when = r["when"]
        lines.append(
            f"{when:%Y-%m-%d},{when:%H:%M},{r['open']},{r['high']},{r['low']},{r['close']},{r['volume']}"
        )
    assert load_file(write(tmp_path, "\n".join(lines) + "\n")).ts.tolist() == expected_ts(data)


def test_epoch_milliseconds_column(tmp_path):
    data = rows()
    text = csv_text([{**r, "when": datetime_to_ns(r["when"]) // 10**6} for r in data])
    assert load_file(write(tmp_path, text)).ts.tolist() == expected_ts(data)


def _frame(data: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame({k: [r[k] for r in data] for k in ("open", "high", "low", "close", "volume")})


def test_parquet_with_tz_aware_datetime_index(tmp_path):
    data = rows()
    frame = _frame(data).rename(columns=str.title)
    frame.index = (
        pd.DatetimeIndex([r["when"] for r in data]).tz_convert("America/New_York").rename("Datetime")
    )
    frame.to_parquet(tmp_path / "MSFT.parquet")
    series = load_file(tmp_path / "MSFT.parquet")
    assert series.symbol == "MSFT"
    assert series.ts.tolist() == expected_ts(data)
    assert series.open.tolist() == [r["open"] for r in data]


def test_parquet_with_utc_timestamp_column(tmp_path):
    data = rows()
    frame = _frame(data)
    frame.insert(0, "timestamp", pd.DatetimeIndex([r["when"] for r in data]).tz_convert("UTC"))
    frame.to_parquet(tmp_path / "TSLA.parquet", index=False)
    assert load_file(tmp_path / "TSLA.parquet").ts.tolist() == expected_ts(data)


def test_zero_volume_is_valid(tmp_path):
    data = rows()
    data[4]["volume"] = 0
    assert load_file(write(tmp_path, csv_text(data))).volume[4] == 0.0


def test_missing_bar_is_fine(tmp_path):
    data = rows()
    del data[5]
    series = load_file(write(tmp_path, csv_text(data)))
    assert series.timeframe is Timeframe.M5
    assert len(series) == 11


def test_sparse_five_minute_bars_stay_five_minute(tmp_path):
    data = [r for i, r in enumerate(rows(n=40)) if i % 3 != 1]  # steps of 5m and 10m, mostly 10m
    series = load_file(write(tmp_path, csv_text(data)))
    assert series.timeframe is Timeframe.M5
    assert len(series) == len(data)


def test_one_minute_bars_detected(tmp_path):
    data = rows(n=30, step=1)
    del data[10:14]  # a hole of 5 minutes is a missing run, not a 5m bar
    series = load_file(write(tmp_path, csv_text(data)))
    assert series.timeframe is Timeframe.M1


def test_extended_hours_dropped_with_sessions(tmp_path, sessions):
    data = rows(start="08:00", n=12 * 9, step=5)  # 08:00 .. 16:55
    series = load_file(write(tmp_path, csv_text(data)), sessions=sessions)
    # 08:00-09:25 is 18 bars before the open, 16:00-16:55 is 12 bars after the close.
    assert series.dropped_extended == 18 + 12
    assert len(series) == 78
    assert series.ts[0] == ns("2024-05-01", "09:30")
    assert series.ts[-1] == ns("2024-05-01", "15:55")


def test_early_close_drops_bars_after_13_00(tmp_path, sessions):
    data = rows(day="2024-07-03", n=78)
    series = load_file(write(tmp_path, csv_text(data)), sessions=sessions)
    assert series.ts[-1] == ns("2024-07-03", "12:55")
    assert len(series) == 42
    assert series.dropped_extended == 36


def test_without_sessions_nothing_is_dropped(tmp_path):
    data = rows(start="08:00", n=20)
    series = load_file(write(tmp_path, csv_text(data)))
    assert len(series) == 20
    assert series.dropped_extended == 0


# --------------------------------------------------------------------------------------------
# Rejections: each message names the file, and the row and column where they apply


def _bad(tmp_path: Path, data: list[dict[str, object]], **kwargs: object) -> str:
    path = write(tmp_path, csv_text(data))
    with pytest.raises(DataError) as info:
        load_file(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert str(path) in message
    return message


def _set(data: list[dict[str, object]], row: int, **values: object) -> list[dict[str, object]]:
    """Change data row ``row`` (1-based, as messages count)."""
    data[row - 1].update(values)
    return data


@pytest.mark.parametrize(
    ("row", "change", "words"),
    [
        (3, {"close": "nan"}, ["row 3", "'close'", "NaN"]),
        (3, {"close": ""}, ["row 3", "'close'", "NaN"]),
        (5, {"high": "abc"}, ["row 5", "'high'", "'abc' is not a number"]),
        (2, {"open": 0.0, "low": 0.0}, ["row 2", "'open'", "not positive"]),
        (4, {"high": 90.0}, ["row 4", "high 90.0 < low"]),
        (6, {"high": 105.2, "close": 105.4}, ["row 6", "'high'", "below open 105.0 or close 105.4"]),
        (7, {"low": 106.5}, ["row 7", "'low'", "above open 106.0"]),
        (8, {"volume": -5}, ["row 8", "'volume'", "negative"]),
        (2, {"when": "yesterday"}, ["row 2", "'timestamp'", "'yesterday' is not a timestamp"]),
    ],
)
def test_bad_values_name_row_and_column(tmp_path, row, change, words):
    message = _bad(tmp_path, _set(rows(), row, **change))
    for word in words:
        assert word in message


def test_row_messages_carry_the_timestamp(tmp_path):
    message = _bad(tmp_path, _set(rows(), 3, close="nan"))
    assert "2024-05-01 09:40:00-0400" in message


def test_count_of_similar_rows_is_reported(tmp_path):
    data = rows()
    for r in (2, 5, 9):
        _set(data, r, volume=-1)
    assert "(3 rows like this)" in _bad(tmp_path, data)


def test_missing_columns_are_named_with_what_was_found(tmp_path):
    path = write(tmp_path, "Date Time,Open,High,Close\n2024-05-01 09:30:00,1,2,1.5\n")
    with pytest.raises(DataError) as info:
        load_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "missing column(s) low, volume" in message
    assert "found columns: Date Time, Open, High, Close" in message


def test_no_timestamp_column(tmp_path):
    path = write(tmp_path, "when,open,high,low,close,volume\n2024-05-01 09:30:00,1,2,0.5,1.5,10\n")
    with pytest.raises(DataError, match=r"no timestamp column.*found columns: when, open"):
        load_file(path)


def test_duplicate_timestamp_names_rows(tmp_path):
    data = rows()
    data[6]["when"] = data[5]["when"]
    message = _bad(tmp_path, data)
    assert "duplicate timestamp 2024-05-01 09:55:00-0400 at rows 6 and 7" in message


def test_unsorted_rows(tmp_path):
    data = rows()
    data[3], data[4] = data[4], data[3]
    message = _bad(tmp_path, data)
    assert "row 5" in message
    assert "earlier than row 4" in message
    assert "sorted" in message


def test_mixed_bar_sizes_rejected(tmp_path):
    data = rows(n=12)
    data[7]["when"] = data[6]["when"] + dt.timedelta(minutes=1)  # a 1m step in a 5m file
    for i in range(8, 12):
        data[i]["when"] = data[i - 1]["when"] + dt.timedelta(minutes=5)
    message = _bad(tmp_path, data)
    assert "mixed bar sizes" in message
    assert "row 8" in message


def test_five_minute_day_inside_one_minute_file_rejected(tmp_path):
    one = rows(n=60, step=1)
    five = rows(day="2024-05-02", n=40, step=5)
    message = _bad(tmp_path, one + five)
    assert "mixed bar sizes: 2024-05-02 has only 5m steps" in message


def test_bars_off_the_grid_rejected(tmp_path):
    message = _bad(tmp_path, rows(start="09:32"))
    assert "not on the 5m grid" in message
    assert "row 1" in message


@pytest.mark.parametrize(("step", "label"), [(15, "15m"), (60, "1h"), (2, "2m"), (10, "10m")])
def test_unsupported_bar_sizes(tmp_path, step, label):
    message = _bad(tmp_path, rows(n=6, step=step))
    assert f"bar size {label} is not supported" in message


def test_daily_bars_rejected(tmp_path):
    data = [{**r, "when": f"2024-05-0{i + 1}"} for i, r in enumerate(rows(n=3))]
    assert "no two bars fall on the same day" in _bad(tmp_path, data)


def test_nonexistent_local_time_rejected(tmp_path):
    data = rows(day="2024-03-10", start="01:50", n=6)  # 02:00-02:59 does not exist that night
    message = _bad(tmp_path, data)
    assert "row 3" in message
    assert "does not exist or is ambiguous" in message


def test_mixed_offsets_and_naive_rejected(tmp_path):
    data = rows()
    text = csv_text(data).replace("2024-05-01 09:45:00", "2024-05-01T09:45:00-04:00")
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=r"row 4.*mixes timestamps with and without UTC offsets"):
        load_file(path)


def test_header_only_file(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        load_file(write(tmp_path, HEADER + "\n"))


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"AAPL\.txt.*unsupported file type"):
        load_file(write(tmp_path, "x", "AAPL.txt"))
    with pytest.raises(DataError, match=r"MSFT\.csv: no such file"):
        load_file(tmp_path / "MSFT.csv")


def test_unreadable_parquet(tmp_path):
    with pytest.raises(DataError, match=r"AAPL\.parquet: cannot read"):
        load_file(write(tmp_path, "not parquet", "AAPL.parquet"))


def test_session_table_must_cover_the_bars(tmp_path, sessions):
    message = _bad(tmp_path, rows(day="2023-06-01"), sessions=sessions)
    assert "session table covers only 2024-01-02" in message


def test_only_extended_hours(tmp_path, sessions):
    message = _bad(tmp_path, rows(start="16:00", n=6), sessions=sessions)
    assert "no bars inside regular sessions (6 extended-hours rows dropped)" in message


def test_asserted_timeframe_must_match(tmp_path):
    assert "expected 1m bars, found 5m" in _bad(tmp_path, rows(), timeframe=Timeframe.M1)


# --------------------------------------------------------------------------------------------
# Directories


def _write_symbol(root: Path, symbol: str, days: list[str], suffix: str = "csv") -> None:
    data = [r for day in days for r in rows(day=day, n=78)]
    write(root, csv_text(data), f"{symbol}.{suffix}")


def test_load_dir_in_requested_order(tmp_path, sessions):
    for sym in ("AAPL", "MSFT", "TSLA"):
        _write_symbol(tmp_path, sym, ["2024-05-01"])
    (tmp_path / "notes.txt").write_text("ignored")
    got = load_dir(tmp_path, ["tsla", "AAPL"], sessions=sessions)
    assert list(got) == ["TSLA", "AAPL"]
    assert all(len(s) == 78 for s in got.values())
    assert list(load_dir(tmp_path)) == ["AAPL", "MSFT", "TSLA"]


def test_load_dir_date_filter_inclusive(tmp_path, sessions):
    days = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-06"]
    _write_symbol(tmp_path, "AAPL", days)
    got = load_dir(tmp_path, sessions=sessions, start="2024-05-02", end=dt.date(2024, 5, 3))["AAPL"]
    assert len(got) == 2 * 78
    assert got.ts[0] == ns("2024-05-02", "09:30")
    assert got.ts[-1] == ns("2024-05-03", "15:55")


def test_load_dir_filter_lets_sessions_cover_only_the_span(tmp_path):
    from vibe_core.calendar import nyse_sessions

    _write_symbol(tmp_path, "AAPL", ["2024-05-01", "2024-05-02"])
    narrow = nyse_sessions("2024-05-02", "2024-05-02")
    got = load_dir(tmp_path, sessions=narrow, start="2024-05-02", end="2024-05-02")["AAPL"]
    assert len(got) == 78


def test_load_dir_missing_symbol_names_directory(tmp_path):
    _write_symbol(tmp_path, "AAPL", ["2024-05-01"])
    with pytest.raises(DataError) as info:
        load_dir(tmp_path, ["AAPL", "GOOGL"])
    assert str(tmp_path) in str(info.value)
    assert "no file for GOOGL" in str(info.value)
    assert "found: AAPL" in str(info.value)


def test_load_dir_without_bar_files(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(DataError, match="no bar files"):
        load_dir(tmp_path)
    with pytest.raises(DataError, match="no such directory"):
        load_dir(tmp_path / "absent")


def test_load_dir_two_files_for_one_symbol(tmp_path):
    _write_symbol(tmp_path, "AAPL", ["2024-05-01"])
    save_file(load_file(tmp_path / "AAPL.csv"), tmp_path / "aapl.parquet")
    with pytest.raises(DataError, match="two files for AAPL"):
        load_dir(tmp_path)


def test_load_dir_empty_range(tmp_path):
    _write_symbol(tmp_path, "AAPL", ["2024-05-01"])
    with pytest.raises(DataError, match="no bars between 2024-06-01 and 2024-06-30"):
        load_dir(tmp_path, start="2024-06-01", end="2024-06-30")


def test_load_dir_rejects_different_bar_sizes(tmp_path):
    _write_symbol(tmp_path, "AAPL", ["2024-05-01"])
    write(tmp_path, csv_text(rows(n=30, step=1)), "MSFT.csv")
    with pytest.raises(DataError, match="different bar sizes"):
        load_dir(tmp_path)


def test_date_range(tmp_path):
    _write_symbol(tmp_path, "AAPL", ["2024-05-02", "2024-05-03"])
    _write_symbol(tmp_path, "MSFT", ["2024-05-01"])
    assert date_range(load_dir(tmp_path)) == (dt.date(2024, 5, 1), dt.date(2024, 5, 3))
    with pytest.raises(DataError):
        date_range({})


# --------------------------------------------------------------------------------------------
# BarSeries, save_file, iter_bars


def _series(symbol: str, ts: list[int], base: float = 100.0, source: str = "file") -> BarSeries:
    n = len(ts)
    o = base + np.arange(n, dtype=float)
    return BarSeries(
        symbol=symbol,
        timeframe=Timeframe.M5,
        source=source,
        ts=ts,
        open=o,
        high=o + 1,
        low=o - 1,
        close=o + 0.25,
        volume=np.arange(n, dtype=float) * 10,
    )


def test_series_is_read_only_and_checked():
    s = _series("AAPL", [0, FIVE])
    with pytest.raises(ValueError, match="read-only"):
        s.close[0] = 1.0
    with pytest.raises(ValueError, match="column open has 1 rows, ts has 2"):
        BarSeries(
            symbol="X",
            timeframe=Timeframe.M5,
            source="",
            ts=[0, 1],
            open=[1.0],
            high=[1.0, 1.0],
            low=[1.0, 1.0],
            close=[1.0, 1.0],
            volume=[1.0, 1.0],
        )
    assert s == _series("AAPL", [0, FIVE])
    assert s != _series("AAPL", [0, 2 * FIVE])


def test_between():
    s = _series("AAPL", [FIVE * k for k in range(10)])
    part = s.between(2 * FIVE, 5 * FIVE)
    assert part.ts.tolist() == [2 * FIVE, 3 * FIVE, 4 * FIVE]
    assert part.open.tolist() == [102.0, 103.0, 104.0]


def test_ten_years_of_five_minute_bars_is_compact():
    n = 10 * 252 * 78
    s = _series("AAPL", list(range(0, n * FIVE, FIVE)))
    assert s.nbytes == n * 48
    assert s.nbytes < 10 * 2**20


@st.composite
def valid_series(draw: st.DrawFn) -> BarSeries:
    day0 = ns("2024-05-01", "09:30")
    days = draw(st.lists(st.integers(0, 20), min_size=1, max_size=4, unique=True).map(sorted))
    ts = []
    for d in days:
        start = draw(st.integers(0, 76))  # two adjacent bars a day, as real data has
        extra = draw(st.lists(st.integers(0, 77), max_size=10))
        slots = sorted({start, start + 1, *extra})
        ts += [day0 + d * 86_400 * 10**9 + k * FIVE for k in slots]  # May 2024 has no DST change
    n = len(ts)
    price = st.floats(1.0, 5000.0, allow_nan=False, width=64)
    o = draw(st.lists(price, min_size=n, max_size=n))
    c = draw(st.lists(price, min_size=n, max_size=n))
    up = draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n))
    down = draw(st.lists(st.floats(0.0, 0.5), min_size=n, max_size=n))
    hi = [max(a, b) + u for a, b, u in zip(o, c, up, strict=True)]
    lo = [min(a, b) * (1 - d) for a, b, d in zip(o, c, down, strict=True)]
    vol = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    return BarSeries(
        symbol="AAPL",
        timeframe=Timeframe.M5,
        source="file",
        ts=ts,
        open=o,
        high=hi,
        low=lo,
        close=c,
        volume=vol,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(series=valid_series(), fmt=st.sampled_from(["csv", "parquet"]))
def test_save_then_load_is_exact(tmp_path, series, fmt):
    path = save_file(series, tmp_path / f"AAPL.{fmt}")
    assert load_file(path) == series


GRID = st.lists(st.integers(0, 40), unique=True, max_size=30).map(sorted)


@settings(max_examples=60, deadline=None)
@given(grids=st.lists(GRID, min_size=1, max_size=5), chunk=st.sampled_from([1, 3, 1000]))
def test_iter_bars_merges_by_time_with_ties_in_symbol_order(grids, chunk):
    names = ["MSFT", "AAPL", "TSLA", "GOOGL", "AMZN"][: len(grids)]
    data = {
        name: _series(name, [FIVE * k for k in grid], base=10.0 * (i + 1), source=f"src{i}")
        for i, (name, grid) in enumerate(zip(names, grids, strict=True))
    }
    bars = list(iter_bars(data, chunk=chunk))
    assert len(bars) == sum(len(s) for s in data.values())
    rank = {name: i for i, name in enumerate(names)}
    keys = [(b.ts, rank[b.symbol]) for b in bars]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for b in bars:
        s = data[b.symbol]
        row = int(np.searchsorted(s.ts, b.ts))
        assert s.ts[row] == b.ts
        assert (b.open, b.high, b.low, b.close, b.volume) == (
            s.open[row],
            s.high[row],
            s.low[row],
            s.close[row],
            s.volume[row],
        )
        assert b.source == s.source
        assert b.timeframe is Timeframe.M5
        assert type(b.ts) is int
        assert type(b.close) is float


def test_iter_bars_builds_the_same_bars_as_bar_init():
    from vibe_core.events import Bar

    market = {"AAPL": _series("AAPL", [0, FIVE, 3 * FIVE]), "MSFT": _series("MSFT", [FIVE], source="x")}
    fast = list(iter_bars(market))
    expected = [
        Bar(
            symbol=s,
            timeframe=Timeframe.M5,
            ts=t,
            open=o,
            high=o + 1,
            low=o - 1,
            close=o + 0.25,
            volume=v,
            source=src,
        )
        for s, t, o, v, src in [
            ("AAPL", 0, 100.0, 0.0, "file"),
            ("AAPL", FIVE, 101.0, 10.0, "file"),
            ("MSFT", FIVE, 100.0, 0.0, "x"),
            ("AAPL", 3 * FIVE, 102.0, 20.0, "file"),
        ]
    ]
    assert fast == expected
    assert [hash(b) for b in fast] == [hash(b) for b in expected]


def test_iter_bars_is_lazy():
    data = {"AAPL": _series("AAPL", [FIVE * k for k in range(100_000)])}
    stream = iter_bars(data)
    first = next(stream)
    assert first.ts == 0
    assert next(stream).ts == FIVE


def test_iter_bars_empty():
    assert list(iter_bars({})) == []
    assert list(iter_bars({"AAPL": _series("AAPL", [])})) == []


# --------------------------------------------------------------------------------------------
# The real Yahoo bars in /work/shared (skipped when absent)

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared Yahoo data not present")


@pytest.fixture(scope="module")
def real(sessions_module):
    return load_dir(SHARED, sessions=sessions_module)


@pytest.fixture(scope="module")
def sessions_module():
    from vibe_core.calendar import nyse_sessions

    return nyse_sessions("2024-04-01", "2024-06-30")


def _per_day(series: BarSeries) -> dict[dt.date, int]:
    days = pd.to_datetime(series.ts, unit="ns", utc=True).tz_convert("America/New_York").date
    out: dict[dt.date, int] = {}
    for d in days:
        out[d] = out.get(d, 0) + 1
    return out


@needs_shared
def test_real_yahoo_files_load(real):
    assert list(real) == ["AAPL", "GOOG", "MSFT", "TSLA"]
    for series in real.values():
        assert series.timeframe is Timeframe.M5
        assert series.dropped_extended == 0
        counts = _per_day(series)
        assert len(counts) == 19
        assert dt.date(2024, 5, 27) not in counts  # Memorial Day
        assert counts[dt.date(2024, 5, 3)] == 77
        assert counts[dt.date(2024, 5, 6)] == 77
        assert ns("2024-05-03", "10:30") not in set(series.ts.tolist())
        assert {n for d, n in counts.items() if d not in (dt.date(2024, 5, 3), dt.date(2024, 5, 6))} == {78}
    assert date_range(real) == (dt.date(2024, 5, 1), dt.date(2024, 5, 28))


@needs_shared
def test_real_yahoo_zero_volume_bar_kept(real):
    aapl = real["AAPL"]
    row = int(np.searchsorted(aapl.ts, ns("2024-05-06", "12:35")))
    assert aapl.ts[row] == ns("2024-05-06", "12:35")
    assert aapl.volume[row] == 0.0
    assert aapl.low[row] <= aapl.close[row] <= aapl.high[row]


@needs_shared
@pytest.mark.parametrize(
    ("symbol", "day", "close"),
    [
        ("AAPL", "2024-05-01", 169.29),
        ("AAPL", "2024-05-02", 173.09),
        ("AAPL", "2024-05-03", 183.39),
        ("MSFT", "2024-05-03", 406.84),
        ("TSLA", "2024-05-01", 179.99),
        ("GOOG", "2024-05-03", 169.02),
    ],
)
def test_real_yahoo_known_closes(real, symbol, day, close):
    series = real[symbol]
    row = int(np.searchsorted(series.ts, ns(day, "15:55")))
    assert series.ts[row] == ns(day, "15:55")
    assert round(float(series.close[row]), 2) == close


@needs_shared
def test_real_yahoo_stream(real):
    bars = iter_bars(real)
    first = [next(bars) for _ in range(4)]
    assert [b.symbol for b in first] == ["AAPL", "GOOG", "MSFT", "TSLA"]
    assert {b.ts for b in first} == {ns("2024-05-01", "09:30")}
    assert sum(1 for _ in bars) == 4 * 1480 - 4
