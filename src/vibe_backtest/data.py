"""Bar files in, validated :class:`BarSeries` out, and the time-merged ``Bar`` stream of a backtest.

Reads ``SYMBOL.csv`` / ``SYMBOL.parquet`` in the common layouts (a timestamp column or a datetime
index, OHLCV columns in any case, ``Adj Close`` ignored), converts time to int ns UTC and rejects
broken data with a :class:`DataError` naming the file, the row and the column: corrupt data is
worse than no data. This module makes no trading decision.

Files are read with pyarrow and turned into numpy columns without pandas (pandas costs a quarter
of a second to import); an input the fast path is not sure about (text times in another layout,
nulls, odd column names, any error) goes through the pandas reader, which gives every message.

Invariants of every :class:`BarSeries`: timestamps strictly increasing, aligned to the bar size
(1m or 5m), prices finite and positive, ``low <= min(open, close)``, ``max(open, close) <= high``,
volume finite and ``>= 0`` (zero is a real Yahoo quirk, not an error).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import attrs
import numpy as np
import numpy.typing as npt

from vibe_backtest.arrow import arrow_cast, from_numpy, kernel, release_memory, to_numpy
from vibe_core.calendar import NEW_YORK, SessionTable
from vibe_core.events import Bar
from vibe_core.types import NS_PER_SECOND, Timeframe

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "DataError",
    "DataWarning",
    "BarSeries",
    "BAR_SUFFIXES",
    "bars_from_frame",
    "load_file",
    "load_dir",
    "save_file",
    "iter_bars",
    "date_range",
    "day_bounds_ns",
]

BAR_SUFFIXES = (".csv", ".parquet")
_NY = "America/New_York"
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_TIME_NAMES = ("timestamp", "datetime", "date", "time")
_PRICE_COLUMNS = ("open", "high", "low", "close")
_COLUMNS = (*_PRICE_COLUMNS, "volume")
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class DataError(ValueError):
    """Bad input data; the message names the file and, where it applies, the row and the column."""


class DataWarning(UserWarning):
    """Input that works but not as asked (dates asked for that the data does not cover)."""


def _ints(values: Any) -> I64:
    arr = np.array(values, dtype=np.int64, copy=True)
    arr.setflags(write=False)
    return arr


def _floats(values: Any) -> F64:
    arr = np.array(values, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


@attrs.frozen(kw_only=True)
class BarSeries:
    """One symbol's bars as read-only numpy columns (48 bytes a bar: 10 years of 5m is ~9 MB)."""

    symbol: str
    timeframe: Timeframe
    source: str
    ts: I64 = attrs.field(converter=_ints, eq=_ARRAY_EQ, hash=False, repr=False)  #: bar open, ns UTC
    open: F64 = attrs.field(converter=_floats, eq=_ARRAY_EQ, hash=False, repr=False)
    high: F64 = attrs.field(converter=_floats, eq=_ARRAY_EQ, hash=False, repr=False)
    low: F64 = attrs.field(converter=_floats, eq=_ARRAY_EQ, hash=False, repr=False)
    close: F64 = attrs.field(converter=_floats, eq=_ARRAY_EQ, hash=False, repr=False)
    volume: F64 = attrs.field(converter=_floats, eq=_ARRAY_EQ, hash=False, repr=False)
    dropped_extended: int = 0  #: rows outside regular sessions dropped at load

    def __attrs_post_init__(self) -> None:
        n = len(self.ts)
        for name in _COLUMNS:
            if len(getattr(self, name)) != n:
                got = len(getattr(self, name))
                raise ValueError(f"BarSeries {self.symbol}: column {name} has {got} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in ("ts", *_COLUMNS))

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> BarSeries:
        """Bars with ``start_ns <= ts < end_ns`` (either bound optional)."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts, start_ns, side="left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts, end_ns, side="left"))
        return attrs.evolve(self, **{name: getattr(self, name)[lo:hi] for name in ("ts", *_COLUMNS)})

    def to_frame(self, tz: str = _NY) -> pd.DataFrame:
        """A ``timestamp`` (tz-aware) + OHLCV frame; integral volumes become ``int64``."""
        import pandas as pd

        volume: Any = self.volume
        if np.all(np.mod(volume, 1.0) == 0.0) and (len(volume) == 0 or volume.max() < 2**62):
            volume = volume.astype(np.int64)
        stamps = pd.DatetimeIndex(pd.to_datetime(self.ts, unit="ns", utc=True)).tz_convert(tz)
        return pd.DataFrame(
            {
                "timestamp": stamps,
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": volume,
            }
        )


# ---------------------------------------------------------------------------------------------
# Parsing: frame -> BarSeries


def _norm(name: object) -> str:
    return re.sub(r"[\s_\-]", "", str(name).lower())


@functools.cache
def _zone(tz: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tz)


def _local_label(ts: int, tz: str) -> str:
    when = dt.datetime.fromtimestamp(ts // NS_PER_SECOND, tz=_zone(tz))
    return when.strftime("%Y-%m-%d %H:%M:%S%z")


class _Where:
    """Formats "file: row N (timestamp)" for messages; rows are 1-based data rows of the input."""

    def __init__(self, label: str, tz: str) -> None:
        self.label = label
        self.tz = tz
        self.ts: I64 | None = None

    def row(self, i: int) -> str:
        if self.ts is not None and self.ts[i] != np.iinfo(np.int64).min:
            return f"row {i + 1} ({_local_label(int(self.ts[i]), self.tz)})"
        return f"row {i + 1}"

    def fail(self, message: str) -> DataError:
        return DataError(f"{self.label}: {message}")

    def first(self, mask: npt.NDArray[np.bool_], message: str | Callable[[int], str]) -> None:
        """Raise for the first row where ``mask`` is true (``message`` may depend on that row)."""
        bad = np.flatnonzero(mask)
        if len(bad):
            i = int(bad[0])
            text = message(i) if callable(message) else message
            more = f" ({len(bad)} rows like this)" if len(bad) > 1 else ""
            raise self.fail(f"{self.row(i)}: {text}{more}")


def _find_columns(frame: pd.DataFrame, where: _Where) -> tuple[Any, dict[str, Any]]:
    """The timestamp source (column name, ``None`` for the index, or a (date, time) pair) and OHLCV names."""
    import pandas as pd

    index_is_time = isinstance(frame.index, pd.DatetimeIndex)
    return _pick_columns(list(frame.columns), frame.index.name, index_is_time, where)


def _pick_columns(
    columns: Sequence[Any], index_name: Any, index_is_time: bool, where: _Where
) -> tuple[Any, dict[str, Any]]:
    """:func:`_find_columns` over column names and what the index is (shared by both readers)."""
    by_norm: dict[str, Any] = {}
    for col in columns:
        key = _norm(col)
        if key in by_norm:
            raise where.fail(f"columns {by_norm[key]!r} and {col!r} are ambiguous (same name ignoring case)")
        by_norm[key] = col
    found = ", ".join(str(c) for c in columns) or "none"
    missing = [name for name in _COLUMNS if name not in by_norm]
    if missing:
        raise where.fail(f"missing column(s) {', '.join(missing)}; found columns: {found}")
    ohlcv = {name: by_norm[name] for name in _COLUMNS}
    if "timestamp" in by_norm:
        return by_norm["timestamp"], ohlcv
    if "datetime" in by_norm:
        return by_norm["datetime"], ohlcv
    if "date" in by_norm and "time" in by_norm:
        return (by_norm["date"], by_norm["time"]), ohlcv
    for name in ("date", "time"):
        if name in by_norm:
            return by_norm[name], ohlcv
    if index_is_time or _norm(index_name or "") in _TIME_NAMES:
        return None, ohlcv
    raise where.fail(
        f"no timestamp column (looked for {', '.join(_TIME_NAMES)} in any case, or a datetime index); "
        f"found columns: {found}"
    )


def _epoch_unit(values: npt.NDArray[Any]) -> Literal["ns", "us", "ms", "s"]:
    finite = np.abs(values[np.isfinite(values)]) if values.dtype.kind == "f" else np.abs(values)
    top = float(finite.max()) if len(finite) else 0.0
    return "ns" if top >= 1e17 else "us" if top >= 1e14 else "ms" if top >= 1e11 else "s"


def _parse_times(raw: pd.Series[Any], column: str, tz: str, where: _Where) -> I64:
    """Any timestamp column -> int64 ns UTC; naive values are read in ``tz``."""
    import pandas as pd

    raw = raw.reset_index(drop=True)
    missing = raw.isna().to_numpy()
    where.first(missing, f"column {column!r} is empty")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.DatetimeIndex(raw)
    elif pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        unit = _epoch_unit(raw.to_numpy())
        parsed = pd.DatetimeIndex(pd.to_datetime(raw, unit=unit, utc=True))
    else:
        text = raw.astype(str).str.strip()
        aware = text.str.contains(_OFFSET, regex=True).to_numpy()
        if aware.any() and not aware.all():
            where.first(aware != aware[0], f"column {column!r} mixes timestamps with and without UTC offsets")
        parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", utc=bool(aware.all())))
        unparsed = parsed.isna()
        if unparsed.any():
            i = int(np.flatnonzero(unparsed)[0])
            raise where.fail(f"{where.row(i)}: column {column!r}: {text.iloc[i]!r} is not a timestamp")
    if parsed.tz is None:
        localized = parsed.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        where.first(
            np.asarray(localized.isna()),
            f"column {column!r} has a local time that does not exist or is ambiguous in {tz} (DST change); "
            "store tz-aware timestamps",
        )
        parsed = localized
    return np.asarray(parsed.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def _numbers(raw: pd.Series[Any], column: str, where: _Where) -> F64:
    import pandas as pd

    raw = raw.reset_index(drop=True)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    garbage = np.isnan(values) & raw.notna().to_numpy()
    if garbage.any():
        i = int(np.flatnonzero(garbage)[0])
        raise where.fail(f"{where.row(i)}: column {column!r}: {raw.iloc[i]!r} is not a number")
    where.first(~np.isfinite(values), f"column {column!r} is NaN or infinite")
    return values


def _human(ns: int) -> str:
    seconds = ns / NS_PER_SECOND
    if seconds % 86_400 == 0:
        return f"{seconds / 86_400:g}d"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


#: the last times, zone and answer of :func:`_local_days` and the last session table's bounds: the
#: files of one folder usually hold the same bar times, and time zone arithmetic costs 1-4 ms a file
_last: dict[str, tuple[Any, ...]] = {}


def _local_days(ts: I64, tz: str) -> I64:
    import pyarrow as pa

    ts = np.asarray(ts, dtype=np.int64)
    seen = _last.get("days")
    if seen is not None and seen[1] == tz and np.array_equal(seen[0], ts):
        days: I64 = seen[2]
        return days
    local = kernel("local_timestamp", from_numpy(ts, pa.timestamp("ns", tz=tz)))
    days = to_numpy(arrow_cast(local, pa.int64()), np.int64) // _NS_PER_DAY
    days.setflags(write=False)
    _last["days"] = (ts, tz, days)
    return days


def _bar_size(steps: I64) -> tuple[int, str | None]:
    """The bar size behind same-day steps: their gcd when it is 1m or 5m, else a reason to reject.

    The gcd (not the most common step) keeps sparse 5m data 5m; a gcd of 1m with most steps on
    the 5m grid means a stray bar in a 5m file, reported as mixed sizes by the caller.
    """
    gcd = int(np.gcd.reduce(steps))
    values, counts = np.unique(steps, return_counts=True)
    mode = int(values[int(np.argmax(counts))])
    one, five = Timeframe.M1.ns, Timeframe.M5.ns
    if gcd == five or (gcd == one and mode % five != 0):
        return gcd, None
    on_grid = steps[steps % five == 0]
    if mode % five == 0 and int(np.gcd.reduce(on_grid)) == five:
        return five, None  # mostly 5m with stray steps: the caller names the first one
    if mode == one:
        return one, None
    return mode, f"bar size {_human(mode)} is not supported (1m or 5m bars only)"


def _detect_timeframe(ts: I64, rows: I64, tz: str, expected: Timeframe | None, where: _Where) -> Timeframe:
    """The bar size from the steps between bars of the same day; missing bars are fine, odd sizes are not."""
    days = _local_days(ts, tz)
    same = days[1:] == days[:-1]
    steps = np.diff(ts)[same]
    later = rows[1:][same]  # input row of the bar after each step
    if len(steps) == 0:
        if expected is None:
            raise where.fail("cannot detect the bar size: no two bars fall on the same day")
        size = expected.ns
    else:
        detected, problem = _bar_size(steps)
        if expected is None:
            if problem is not None:
                raise where.fail(problem)
            size = detected
        elif problem is None and detected != expected.ns:
            raise where.fail(f"expected {expected.label} bars, found {_human(detected)} bars")
        else:
            size = expected.ns
    label = _human(size)
    odd = np.flatnonzero(steps % size != 0)
    if len(odd):
        i = int(odd[0])
        raise where.fail(
            f"{where.row(int(later[i]))}: mixed bar sizes: this bar starts {_human(int(steps[i]))} after the "
            f"previous one, the file's bars are {label}"
        )
    misaligned = np.flatnonzero(ts % size != 0)
    if len(misaligned):
        raise where.fail(f"{where.row(int(rows[misaligned[0]]))}: mixed bar sizes: not on the {label} grid")
    if size == Timeframe.M1.ns and len(steps):
        # A day whose every step is a multiple of 5m is a 5m day inside a 1m file.
        step_days = days[1:][same]
        uniq, inverse = np.unique(step_days, return_inverse=True)
        n_steps = np.bincount(inverse)
        n_one_minute = np.bincount(inverse, weights=(steps % Timeframe.M5.ns != 0).astype(np.float64))
        five = np.flatnonzero((n_steps >= 10) & (n_one_minute == 0))
        if len(five):
            day = dt.date(1970, 1, 1) + dt.timedelta(days=int(uniq[five[0]]))
            raise where.fail(f"mixed bar sizes: {day} has only 5m steps, the file's bars are 1m")
    return Timeframe(size // NS_PER_SECOND)


def _inside_sessions(ts: I64, sessions: SessionTable) -> npt.NDArray[np.bool_]:
    seen = _last.get("sessions")
    opens: I64
    closes: I64
    if seen is not None and seen[0] is sessions:
        opens, closes = seen[1], seen[2]
    else:
        opens = np.array([s.open for s in sessions.sessions], dtype=np.int64)
        closes = np.array([s.close for s in sessions.sessions], dtype=np.int64)
        _last["sessions"] = (sessions, opens, closes)
    i = np.searchsorted(opens, ts, side="right") - 1
    ok = i >= 0
    return ok & (ts < closes[np.clip(i, 0, None)])


def bars_from_frame(
    frame: pd.DataFrame,
    *,
    symbol: str,
    label: str,
    source: str = "file",
    tz: str = _NY,
    sessions: SessionTable | None = None,
    timeframe: Timeframe | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> BarSeries:
    """Validate one symbol's raw frame (rows in input order) into a :class:`BarSeries`.

    ``label`` names the input in messages (a path, or "yahoo AAPL"). Every row is validated; then
    only ``start_ns <= ts < end_ns`` is kept and, with ``sessions``, rows outside regular sessions
    are dropped and counted in ``dropped_extended``. ``timeframe`` asserts the bar size.
    """
    import pandas as pd

    where = _Where(label, tz)
    if len(frame) == 0:
        raise where.fail("no bars (the file has no data rows)")
    time_source, ohlcv = _find_columns(frame, where)
    if time_source is None:
        ts = _parse_times(pd.Series(frame.index), str(frame.index.name or "index"), tz, where)
    elif isinstance(time_source, tuple):
        day, clock = (cast("pd.Series[Any]", frame[col]).astype(str) for col in time_source)
        ts = _parse_times(day + " " + clock, f"{time_source[0]} + {time_source[1]}", tz, where)
    else:
        ts = _parse_times(cast("pd.Series[Any]", frame[time_source]), str(time_source), tz, where)
    where.ts = ts
    cols = {name: _numbers(frame[col], str(col), where) for name, col in ohlcv.items()}
    window = {"start_ns": start_ns, "end_ns": end_ns}
    return _checked(
        ts, cols, ohlcv, where, symbol=symbol, source=source, sessions=sessions, timeframe=timeframe, **window
    )


def _checked(
    ts: I64,
    cols: dict[str, F64],
    ohlcv: dict[str, Any],
    where: _Where,
    *,
    symbol: str,
    source: str,
    sessions: SessionTable | None,
    timeframe: Timeframe | None,
    start_ns: int | None,
    end_ns: int | None,
) -> BarSeries:
    """Every check after parsing (prices, order, bar size, sessions), on numpy columns."""
    tz = where.tz
    o, h, lo, c, v = (cols[name] for name in _COLUMNS)
    for name in _PRICE_COLUMNS:
        values = cols[name]
        bad = np.flatnonzero(values <= 0)
        if len(bad):
            where.first(values <= 0, f"column {ohlcv[name]!r} is not positive: {float(values[bad[0]])!r}")
    where.first(v < 0, lambda i: f"column {ohlcv['volume']!r} is negative: {float(v[i])!r}")
    where.first(
        h < lo,
        lambda i: (
            f"high {float(h[i])!r} < low {float(lo[i])!r} (columns {ohlcv['high']!r}, {ohlcv['low']!r})"
        ),
    )
    where.first(
        h < np.maximum(o, c),
        lambda i: (
            f"column {ohlcv['high']!r}: high {float(h[i])!r} "
            f"is below open {float(o[i])!r} or close {float(c[i])!r}"
        ),
    )
    where.first(
        lo > np.minimum(o, c),
        lambda i: (
            f"column {ohlcv['low']!r}: low {float(lo[i])!r} "
            f"is above open {float(o[i])!r} or close {float(c[i])!r}"
        ),
    )
    step = np.diff(ts)
    dup = np.flatnonzero(step == 0)
    if len(dup):
        i = int(dup[0])
        raise where.fail(f"duplicate timestamp {_local_label(int(ts[i]), tz)} at rows {i + 1} and {i + 2}")
    back = np.flatnonzero(step < 0)
    if len(back):
        i = int(back[0])
        raise where.fail(f"{where.row(i + 1)} is earlier than {where.row(i)}: rows must be sorted by time")
    rows = np.arange(len(ts), dtype=np.int64)
    keep = np.ones(len(ts), dtype=bool)
    if start_ns is not None:
        keep &= ts >= start_ns
    if end_ns is not None:
        keep &= ts < end_ns
    dropped = 0
    if sessions is not None and keep.any():
        if len(sessions) == 0:
            raise where.fail("the session table is empty")
        first_day, last_day = _ny_date(int(ts[keep][0])), _ny_date(int(ts[keep][-1]))
        span = (sessions.sessions[0].date, sessions.sessions[-1].date)
        if first_day < span[0] or last_day > span[1]:
            raise where.fail(
                f"bars run from {first_day} to {last_day}, "
                f"but the session table covers only {span[0]} to {span[1]}"
            )
        inside = _inside_sessions(ts, sessions)
        dropped = int((keep & ~inside).sum())
        keep &= inside
        if not keep.any():
            raise where.fail(f"no bars inside regular sessions ({dropped} extended-hours rows dropped)")
    if keep.any():
        tf = _detect_timeframe(ts[keep], rows[keep], tz, timeframe, where)
    else:  # an empty window: the bar size still comes from the whole file
        tf = _detect_timeframe(ts, rows, tz, timeframe, where)
    rows_kept: slice | npt.NDArray[np.bool_] = slice(None) if keep.all() else keep  # (BarSeries copies)
    return BarSeries(
        symbol=symbol,
        timeframe=tf,
        source=source,
        ts=ts[rows_kept],
        open=o[rows_kept],
        high=h[rows_kept],
        low=lo[rows_kept],
        close=c[rows_kept],
        volume=v[rows_kept],
        dropped_extended=dropped,
    )


def _ny_date(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts // NS_PER_SECOND, tz=NEW_YORK).date()


# ---------------------------------------------------------------------------------------------
# Files and directories


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # every reader error becomes one message naming the file
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _check_path(path: Path) -> None:
    if path.suffix.lower() not in BAR_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (expected .csv or .parquet)")
    if not path.is_file():
        raise DataError(f"{path}: no such file")


def _read_arrow(path: Path) -> pa.Table | None:
    """The file as an Arrow table, or ``None`` when pyarrow cannot read it (pandas will say why)."""
    import pyarrow as pa

    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            return pcsv.read_csv(path)
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).read()  # not pq.read_table: its dataset module imports pandas
    except (pa.ArrowException, OSError, ValueError):
        return None


_EPOCH_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": NS_PER_SECOND}


def _arrow_times(column: pa.ChunkedArray, tz: str) -> I64 | None:
    """A clean time column -> int64 ns UTC, or ``None`` for anything the pandas reader must judge."""
    import pyarrow as pa
    from pyarrow._compute import AssumeTimezoneOptions, MatchSubstringOptions

    kind = column.type
    if column.null_count:
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = kernel("utf8_trim_whitespace", column)
        aware = kernel("match_substring_regex", text, options=MatchSubstringOptions(_OFFSET))
        if kernel("all", aware).as_py():
            column = arrow_cast(text, pa.timestamp("ns", tz="UTC"))
        elif not kernel("any", aware).as_py():
            column = arrow_cast(text, pa.timestamp("ns"))
        else:
            return None
        kind = column.type
    if pa.types.is_timestamp(kind):
        stamps = arrow_cast(column, pa.timestamp("ns", tz=kind.tz))
        if kind.tz is None:  # wall-clock times in tz; a missing or doubled hour raises (pandas says where)
            zone = AssumeTimezoneOptions(tz, ambiguous="raise", nonexistent="raise")
            stamps = kernel("assume_timezone", stamps, options=zone)
        return np.array(to_numpy(arrow_cast(stamps, pa.int64()), np.int64))
    if pa.types.is_integer(kind):
        values = np.array(to_numpy(arrow_cast(column, pa.int64()), np.int64))
        factor = _EPOCH_NS[_epoch_unit(values)]
        if len(values) and int(np.abs(values).max()) >= np.iinfo(np.int64).max // factor:
            return None
        return values * factor
    return None


def _arrow_bars(table: pa.Table, where: _Where) -> tuple[I64, dict[str, F64], dict[str, Any]] | None:
    """Times, OHLCV and their column names from a clean table; ``None``: let the pandas reader judge."""
    import pyarrow as pa

    names = table.column_names
    if not table.num_rows or len(set(names)) != len(names) or not all(names):
        return None
    index_cols: list[str] = [
        c for c in (table.schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
    ]
    if len(index_cols) > 1:
        return None
    columns = [n for n in names if n not in index_cols]
    index = index_cols[0] if index_cols else None
    index_name = None if index is None or index.startswith("__index_level_") else index
    index_is_time = index is not None and pa.types.is_timestamp(table.schema.field(index).type)
    try:
        time_source, ohlcv = _pick_columns(columns, index_name, index_is_time, where)
    except DataError:
        return None
    if isinstance(time_source, tuple) or (time_source is None and index is None):
        return None
    ts = _arrow_times(table.column(index if time_source is None else time_source), where.tz)
    if ts is None:
        return None
    cols: dict[str, F64] = {}
    for name, col in ohlcv.items():
        column = table.column(col)
        kind = column.type
        if column.null_count or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None
        values = np.array(to_numpy(arrow_cast(column, pa.float64()), np.float64))
        if not np.isfinite(values).all():
            return None
        cols[name] = values
    return ts, cols, ohlcv


def load_file(
    path: str | Path,
    *,
    symbol: str | None = None,
    tz: str = _NY,
    sessions: SessionTable | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    source: str = "file",
    timeframe: Timeframe | None = None,
) -> BarSeries:
    """Load and validate ``SYMBOL.csv`` or ``SYMBOL.parquet`` (symbol from the stem, upper-cased).

    ``start``/``end`` are New York dates, inclusive; the whole file is validated, then bars outside
    them are dropped before the session check, so ``sessions`` need only cover that span.
    """
    path = Path(path)
    _check_path(path)
    lo, hi = day_bounds_ns(start, end)
    name = (symbol or path.stem).upper()
    table = _read_arrow(path)
    where = _Where(str(path), tz)
    try:
        parsed = None if table is None else _arrow_bars(table, where)
    except (ArithmeticError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        parsed = None
    if parsed is not None:
        ts, cols, ohlcv = parsed
        where.ts = ts
        return _checked(
            ts, cols, ohlcv, where,
            symbol=name, source=source, sessions=sessions, timeframe=timeframe, start_ns=lo, end_ns=hi,
        )  # fmt: skip
    return bars_from_frame(
        _read(path),
        symbol=name,
        label=str(path),
        source=source,
        tz=tz,
        sessions=sessions,
        timeframe=timeframe,
        start_ns=lo,
        end_ns=hi,
    )


def day_bounds_ns(start: dt.date | str | None, end: dt.date | str | None) -> tuple[int | None, int | None]:
    """New York dates (inclusive) -> ``[start_ns, end_ns)``; ``None`` stays open-ended."""

    def midnight(day: dt.date | str) -> int:
        d = dt.date.fromisoformat(day) if isinstance(day, str) else day
        when = dt.datetime(d.year, d.month, d.day, tzinfo=_zone(_NY))
        return int(when.timestamp()) * NS_PER_SECOND

    try:
        lo = None if start is None else midnight(start)
        hi = (
            None
            if end is None
            else midnight(
                (dt.date.fromisoformat(end) if isinstance(end, str) else end) + dt.timedelta(days=1)
            )
        )
    except ValueError as exc:
        raise DataError(f"bad date: {exc}") from exc
    return lo, hi


def load_dir(
    path: str | Path,
    symbols: Sequence[str] | None = None,
    *,
    tz: str = _NY,
    sessions: SessionTable | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    source: str = "file",
) -> dict[str, BarSeries]:
    """One file per symbol from a directory, in ``symbols`` order (else file-name order).

    ``start``/``end`` are New York dates, inclusive (see :func:`load_file`).
    """
    root = Path(path)
    if root.is_file():
        raise DataError(
            f"{root}: is a file; give the folder that holds the SYMBOL.csv / SYMBOL.parquet files "
            f"({root.parent})"
        )
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    files: dict[str, Path] = {}
    for f in sorted(root.iterdir()):
        if f.is_file() and f.suffix.lower() in BAR_SUFFIXES:
            sym = f.stem.upper()
            if sym in files:
                raise DataError(f"{root}: two files for {sym}: {files[sym].name} and {f.name}")
            files[sym] = f
    if not files:
        raise DataError(f"{root}: no bar files (SYMBOL.csv or SYMBOL.parquet)")
    wanted = [s.upper() for s in symbols] if symbols is not None else list(files)
    absent = [s for s in wanted if s not in files]
    if absent:
        raise DataError(
            f"{root}: no file for {', '.join(absent)} (expected SYMBOL.csv or SYMBOL.parquet); "
            f"found: {', '.join(files)}"
        )
    out = {
        sym: load_file(files[sym], symbol=sym, tz=tz, sessions=sessions, start=start, end=end, source=source)
        for sym in wanted
    }
    release_memory()
    if all(len(s) == 0 for s in out.values()):
        raise DataError(f"{root}: no bars between {start or 'the start'} and {end or 'the end'}")
    sizes = {s.timeframe for s in out.values() if len(s)}
    if len(sizes) > 1:
        detail = ", ".join(f"{k} {s.timeframe.label}" for k, s in out.items())
        raise DataError(f"{root}: files have different bar sizes ({detail})")
    return out


def save_file(series: BarSeries, path: str | Path) -> Path:
    """Write ``series`` as CSV or Parquet (by suffix) in a layout :func:`load_file` reads back exactly."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in BAR_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (expected .csv or .parquet)")
    frame = series.to_frame()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if suffix == ".csv":
        frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
    else:
        frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------------------------
# Streams and spans


def iter_bars(series: Mapping[str, BarSeries], *, chunk: int = 65_536) -> Iterator[Bar]:
    """All bars of all symbols in time order (ties in the mapping's order), built lazily.

    The merge order is one stable numpy argsort; values go to Python lists a chunk at a time, so
    memory stays bounded and no numpy scalar reaches a ``Bar``.
    """
    items = [s for s in series.values() if len(s)]
    if not items:
        return
    ts = np.concatenate([s.ts for s in items])
    code = np.concatenate([np.full(len(s), k, dtype=np.int64) for k, s in enumerate(items)])
    order = np.argsort(ts, kind="stable")
    cols = [np.concatenate([getattr(s, name) for s in items]) for name in _COLUMNS]
    symbols = [s.symbol for s in items]
    frames = [s.timeframe for s in items]
    sources = [s.source for s in items]
    for lo in range(0, len(order), chunk):
        idx = order[lo : lo + chunk]
        t, k = ts[idx].tolist(), code[idx].tolist()
        o, h, low, c, v = (col[idx].tolist() for col in cols)
        for ti, ki, oi, hi, li, ci, vi in zip(t, k, o, h, low, c, v, strict=True):
            yield Bar(
                symbol=symbols[ki], timeframe=frames[ki], ts=ti, open=oi, high=hi, low=li, close=ci,
                volume=vi, source=sources[ki],
            )  # fmt: skip


def date_range(series: BarSeries | Mapping[str, BarSeries]) -> tuple[dt.date, dt.date]:
    """First and last New York dates with a bar, over one series or many."""
    items = [series] if isinstance(series, BarSeries) else list(series.values())
    filled = [s for s in items if len(s)]
    if not filled:
        raise DataError("no bars: the date range of an empty data set is undefined")
    first = min(int(s.ts[0]) for s in filled)
    last = max(int(s.ts[-1]) for s in filled)
    return _ny_date(first), _ny_date(last)
