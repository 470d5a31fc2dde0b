"""Result tables as columns (numpy arrays and lists, no pandas) and their CSV text.

A backtest's records become :class:`Table` columns once; the CSV files are written from them with
pyarrow's vectorised string kernels, byte for byte what ``pandas.DataFrame.to_csv`` wrote before
(``%.10g`` floats, ``True``/``False``, empty cells for missing values, ISO-8601 times with their
offset, minimal quoting, ``\\n`` line ends), and pandas frames are built only when asked for
(:meth:`Table.to_frame`, the notebook API). This module makes no trading decision.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import attrs
import numpy as np
import numpy.typing as npt

from vibe_backtest.arrow import arrow_cast, from_numpy, kernel, strings, text, to_bools, to_numpy

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["Column", "Table", "column", "time_column", "iso_times", "format_floats", "write_csv"]

TZ = "America/New_York"
Kind = Literal["time", "float", "int", "bool", "str", "category"]
FLOAT_FORMAT = "%.10g"  #: no float noise (-4.518999999999949) in files; 10 significant digits
CHUNK_ROWS = 65_536  #: rows formatted at once (bars.csv of 10 years: ~1M rows, ~60 MB of text)
_NEEDS_QUOTES = '[,"\n]'  # what Python's csv module (pandas' writer) quotes with QUOTE_MINIMAL and \n


@attrs.frozen
class Column:
    """One column: its kind and values.

    ``time``: int64 ns UTC shown in ``tz``; ``float``/``int``/``bool``: numpy arrays or lists of
    those; ``str``: a list whose missing values are ``None`` (any other value is shown with ``str``);
    ``category``: a (labels, int codes) pair, a long column of few strings (bars.csv's symbol).
    """

    kind: Kind
    values: Any
    tz: str = TZ

    def __len__(self) -> int:
        return len(self.values[1]) if self.kind == "category" else len(self.values)

    def python(self) -> Any:
        """The values as pandas gets them (a category's labels, one per row)."""
        if self.kind == "category":
            labels, codes = self.values
            return [labels[c] for c in np.asarray(codes).tolist()]
        return self.values

    def slice(self, lo: int, hi: int) -> Column:
        if self.kind == "category":
            return attrs.evolve(self, values=(self.values[0], self.values[1][lo:hi]))
        return attrs.evolve(self, values=self.values[lo:hi])

    def take(self, order: npt.NDArray[np.intp]) -> Column:
        if self.kind == "category":
            return attrs.evolve(self, values=(self.values[0], np.asarray(self.values[1])[order]))
        if isinstance(self.values, np.ndarray):
            return attrs.evolve(self, values=self.values[order])
        values = self.values
        return attrs.evolve(self, values=[values[i] for i in order.tolist()])


NoneType = type(None)
_PLAIN = frozenset({bool, int, float, str, NoneType})


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def column(values: Sequence[Any] | npt.NDArray[Any]) -> Column:
    """A column of ``values`` of the kind pandas would infer for them (what its CSV writer showed).

    Booleans -> ``bool``; whole numbers -> ``int``; numbers mixed with floats or ``None`` ->
    ``float`` (``None`` is NaN, an empty cell); anything else -> ``str``.
    """
    if isinstance(values, np.ndarray):
        kinds: dict[str, Kind] = {"b": "bool", "i": "int", "u": "int", "f": "float"}
        kind = kinds.get(values.dtype.kind, "str")
        return Column(kind, values if kind != "str" else values.tolist())
    items = list(values)
    types = set(map(type, items))  # the plain cases by their exact types, at C speed
    if types and types <= _PLAIN:
        if types == {bool}:
            return Column("bool", items)
        if types == {int}:
            return Column("int", items)
        if types & {int, float} and not types & {bool, str}:
            numbers = [np.nan if v is None else v for v in items] if NoneType in types else items
            return Column("float", numbers)
        if not types & {bool, int, float}:
            return Column("str", items)
    return _inferred(items)


def _inferred(items: list[Any]) -> Column:
    """:func:`column`'s kinds by value (numpy scalars, subclasses), the rule the plain cases follow."""
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        return Column("bool", items)
    if items and all(_is_int(v) for v in items):
        return Column("int", items)
    numbers = [v for v in items if v is not None]
    if numbers and all(_is_int(v) or isinstance(v, (float, np.floating)) for v in numbers):
        return Column("float", [np.nan if v is None else v for v in items])
    return Column("str", items)


def time_column(ns: Iterable[int] | npt.NDArray[np.int64], tz: str = TZ) -> Column:
    return Column("time", np.asarray(ns if isinstance(ns, np.ndarray) else list(ns), dtype=np.int64), tz)


@attrs.frozen
class Table:
    """Named columns of one length, in file order."""

    columns: dict[str, Column]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def values(self, name: str) -> Any:
        return self.columns[name].values

    def take(self, order: npt.NDArray[np.intp]) -> Table:
        return Table({k: c.take(order) for k, c in self.columns.items()})

    def slice(self, lo: int, hi: int) -> Table:
        """Rows ``lo`` to ``hi`` (views of arrays, copies of lists)."""
        return Table({k: c.slice(lo, hi) for k, c in self.columns.items()})

    def sorted_by(self, name: str) -> Table:
        """Rows in ``name`` order, ties kept in their order (stable)."""
        keys = np.asarray(self.values(name))
        if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
            return self
        return self.take(np.argsort(keys, kind="stable"))

    def with_column(self, name: str, col: Column) -> Table:
        return Table({**self.columns, name: col})

    def to_frame(self, index: str | None = None) -> pd.DataFrame:
        """A pandas frame: times tz-aware, ``index`` (a column name) as the index."""
        import pandas as pd

        data: dict[str, Any] = {}
        for name, col in self.columns.items():
            if col.kind == "time":
                data[name] = pd.to_datetime(np.asarray(col.values, dtype="int64"), utc=True).tz_convert(
                    col.tz
                )
            else:
                data[name] = col.python()
        if index is None:
            return pd.DataFrame(data, columns=list(self.columns))
        idx = pd.Index(data.pop(index), name=index)
        return pd.DataFrame(data, index=idx, columns=[c for c in self.columns if c != index])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, index: str | None = None) -> Table:
        """Columns of a pandas frame (``index``: the index becomes the first column, so named)."""
        import pandas as pd

        cols: dict[str, Column] = {}
        if index is not None:
            cols[index] = _from_series(pd.Series(frame.index))
        for name in frame.columns:
            cols[str(name)] = _from_series(frame[name])
        return cls(cols)


def _from_series(series: pd.Series[Any]) -> Column:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        stamps = pd.DatetimeIndex(series)
        return Column("time", np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64), str(stamps.tz))
    if dtype.kind in "biuf":
        return column(series.to_numpy())
    return Column("str", [None if v is None or (isinstance(v, float) and v != v) else v for v in series])


# ---------------------------------------------------------------------------------------------
# Cells: each column as an Arrow array of CSV text


@functools.cache
def _offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def iso_times(ns: npt.NDArray[np.int64], tz: str = TZ) -> pa.Array:
    """ISO-8601 local times with their offset (``2024-05-01T09:50:00-04:00``), as
    ``pandas.Timestamp.isoformat`` gives them: sub-second digits (6, or 9 for nanoseconds) only
    on the times that have them."""
    import pyarrow as pa
    from pyarrow._compute import ReplaceSubstringOptions

    ns = np.asarray(ns, dtype=np.int64)
    local = kernel("local_timestamp", from_numpy(ns, pa.timestamp("ns", tz=tz)))
    local_ns = to_numpy(arrow_cast(local, pa.int64()), np.int64)
    seconds = local_ns // 1_000_000_000
    plain = arrow_cast(from_numpy(seconds, pa.timestamp("s")), pa.large_string())  # faster than strftime
    stamps = kernel("replace_substring", plain, options=ReplaceSubstringOptions(" ", "T", max_replacements=1))
    offsets = (local_ns - ns) // 60_000_000_000
    uniq, code = np.unique(offsets, return_inverse=True)
    labels = _take(strings([_offset_label(int(m)) for m in uniq]), from_numpy(code.ravel().astype(np.int64)))
    fraction = ns - (ns // 1_000_000_000) * 1_000_000_000
    odd = np.flatnonzero(fraction)
    if len(odd):
        digits = [f".{f // 1000:06d}" if f % 1000 == 0 else f".{f:09d}" for f in fraction[odd].tolist()]
        mask = np.zeros(len(ns), dtype=bool)
        mask[odd] = True
        parts = kernel("replace_with_mask", strings([""] * len(ns)), from_numpy(mask), strings(digits))
        return _join(stamps, parts, labels, text(""))
    return _join(stamps, labels, text(""))


def _take(values: pa.Array, indices: pa.Array) -> pa.Array:
    """``pyarrow.compute.take`` (bounds checked) without importing pyarrow.compute."""
    from pyarrow._compute import TakeOptions

    taken: pa.Array = kernel("take", values, indices, options=TakeOptions(boundscheck=True))
    return taken


def _join(*parts: Any) -> pa.Array:
    """``pyarrow.compute.binary_join_element_wise`` (the last part: the separator; a null part
    makes a null) without importing pyarrow.compute."""
    joined: pa.Array = kernel("binary_join_element_wise", *parts)
    return joined


def _exact_decimals(x: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Where ``x`` is the double nearest to a decimal of at most 10 significant digits written
    with at most 2, 4 or 6 decimals (prices, cash): its shortest text has at most 10 digits."""
    found = np.zeros(len(x), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are never found
        for scale, limit in ((100.0, 1e8), (1e4, 1e6), (1e6, 1e4)):
            n = np.round(x * scale)
            found |= (n / scale == x) & (np.abs(x) < limit)
    return found


def format_floats(values: Any, fmt: str | None = FLOAT_FORMAT) -> pa.Array:
    """``fmt % x`` for every float (``None``: ``repr``), NaN as an empty cell.

    With ``%.10g``, whole numbers of cents below 1e8 in size (prices, cash) are written from
    integers (:func:`_cents_text`); the rest go through :func:`_plain_floats`.
    """
    x = np.asarray(values, dtype=np.float64)
    if fmt != FLOAT_FORMAT or not len(x):
        return _plain_floats(x, fmt)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are never cents
        n = np.round(x * 100.0)
        cents = (n / 100.0 == x) & (np.abs(x) < 1e8)
    if cents.all():
        return _cents_text(n.astype(np.int64), np.signbit(x))
    if not cents.any():
        return _plain_floats(x, fmt)
    whole = _cents_text(np.where(cents, n, 0.0).astype(np.int64), np.signbit(x) & cents)
    replaced: pa.Array = kernel("replace_with_mask", whole, from_numpy(~cents), _plain_floats(x[~cents], fmt))
    return replaced


def _plain_floats(x: npt.NDArray[np.float64], fmt: str | None) -> pa.Array:
    """:func:`format_floats` through Arrow's shortest round-trip text, which is ``%.10g``'s
    whenever it has at most 10 significant digits and ``%g`` would not use an exponent
    (1e-4 <= |x| < 1e10): exact decimals (found with numpy, else by counting the text's digits).
    The other values (float noise, huge or tiny numbers) are formatted by Python.
    """
    import pyarrow as pa
    from pyarrow._compute import MatchSubstringOptions, ReplaceSubstringOptions, TrimOptions

    shortest = arrow_cast(from_numpy(x), pa.large_string())
    size = np.abs(x)
    ok = np.isfinite(x) & ((x == 0) | ((size >= 1e-4) & (size < 1e10)))
    if fmt is None:
        ok &= False
    elif fmt == FLOAT_FORMAT:
        exact = _exact_decimals(x)
        if (ok & ~exact).any():  # count the digits of the others
            undotted = kernel("replace_substring", shortest, options=ReplaceSubstringOptions(".", ""))
            digits = kernel("binary_length", kernel("utf8_ltrim", undotted, options=TrimOptions("-0")))
            short = to_numpy(digits, np.int64) <= 10
            plain = ~to_bools(kernel("match_substring", shortest, options=MatchSubstringOptions("e")))
            ok &= exact | (short & plain)
    else:
        ok &= False
    bad = np.flatnonzero(~ok)
    if not len(bad):
        return shortest
    shown = [
        "" if v != v else (repr(v) if fmt is None else fmt % v) for v in x[bad].tolist()
    ]  # NaN is the only value not equal to itself
    mask = np.zeros(len(x), dtype=bool)
    mask[bad] = True
    replaced: pa.Array = kernel("replace_with_mask", shortest, from_numpy(mask), strings(shown))
    return replaced


@functools.cache
def _cent_labels() -> pa.Array:
    """``""``, ``".01"`` .. ``".99"`` without trailing zeros (``".1"``): the decimals of a cent amount."""
    return strings([""] + [f".{i:02d}".rstrip("0") for i in range(1, 100)])


def _cents_text(cents: npt.NDArray[np.int64], negative: npt.NDArray[np.bool_]) -> pa.Array:
    """``"%.10g" % (c / 100)`` for each whole number of cents ``c`` (``|c| < 1e10``; ``negative``:
    the value's sign bit, so -0.0 is ``-0``), built from integers: no float formatting at all.

    A value is the double nearest to ``c / 100`` and below 1e8, so its 10 significant digits are
    those of ``c / 100`` exactly, trailing zeros dropped by ``%g``. A column of prices repeats few
    distinct cents: the text of each cent between the column's lowest and highest is made once
    and taken for every row.
    """
    import pyarrow as pa

    if not negative.any():
        lo, hi = int(cents.min()), int(cents.max())
        if hi - lo < len(cents) // 2:
            labels = _cents_text(np.arange(lo, hi + 1, dtype=np.int64), np.zeros(hi - lo + 1, dtype=bool))
            return _take(labels, from_numpy(cents - lo))
    size = np.abs(cents)
    whole = arrow_cast(from_numpy(size // 100), pa.large_string())
    decimals = _take(_cent_labels(), from_numpy(size % 100))
    if not negative.any():
        return _join(whole, decimals, text(""))
    sign = _take(strings(["", "-"]), from_numpy(negative.astype(np.int64)))
    return _join(sign, whole, decimals, text(""))


def _quoted(cells: pa.Array) -> pa.Array:
    import pyarrow as pa
    from pyarrow._compute import MatchSubstringOptions, ReplaceSubstringOptions

    if cells.type in (pa.string(), pa.large_string()):
        data = cells.buffers()[2]  # every cell's bytes (and maybe more): none structural, no quotes
        raw = b"" if data is None else data.to_pybytes()
        if b"," not in raw and b'"' not in raw and b"\n" not in raw:
            return cells
    needs = kernel("match_substring_regex", cells, options=MatchSubstringOptions(_NEEDS_QUOTES))
    if not kernel("any", needs).as_py():
        return cells
    quote = text('"')
    doubled = kernel("replace_substring", cells, options=ReplaceSubstringOptions('"', '""'))
    either: pa.Array = kernel("if_else", needs, _join(quote, doubled, quote, text("")), cells)
    return either


#: a time column's last text, by column name: (its times, zone, cells)
_Seen = dict[str, tuple[npt.NDArray[np.int64], str, Any]]


def _cells(col: Column, float_format: str | None, seen: _Seen | None = None, name: str = "") -> pa.Array:
    """A column's cells as text; ``seen``: the times formatted last, kept per column name, so the
    same times in the next table (bars.csv: every symbol at the same instants) are not formatted again."""
    import pyarrow as pa

    if col.kind == "time":
        ns = np.asarray(col.values, dtype=np.int64)
        last = None if seen is None else seen.get(name)
        if last is not None and last[1] == col.tz and np.array_equal(last[0], ns):
            return last[2]
        cells = iso_times(ns, col.tz)
        if seen is not None:
            seen[name] = (ns, col.tz, cells)
        return cells
    if col.kind == "float":
        return format_floats(col.values, float_format)
    if col.kind == "int":
        ints: pa.Array = arrow_cast(from_numpy(np.asarray(col.values, dtype=np.int64)), pa.large_string())
        return ints
    if col.kind == "bool":
        flags: pa.Array = kernel(
            "if_else", from_numpy(np.asarray(col.values, dtype=bool)), text("True"), text("False")
        )
        return flags
    if col.kind == "category":
        labels, codes = col.values
        return _take(_quoted(strings(list(labels))), from_numpy(np.asarray(codes, dtype=np.int64)))
    types = set(map(type, col.values))
    if types <= {str, NoneType}:
        shown = list(col.values) if NoneType not in types else ["" if v is None else v for v in col.values]
    else:
        shown = [
            "" if v is None or (isinstance(v, float) and v != v) else v if isinstance(v, str) else str(v)
            for v in col.values
        ]
    return _quoted(strings(shown))


def _header(names: Sequence[str]) -> bytes:
    cells = _quoted(strings(list(names))).to_pylist()
    return (",".join(cells) + "\n").encode()


def _body(table: Table, float_format: str | None, seen: _Seen | None = None) -> memoryview:
    """The rows' text: every cell formatted, joined per row by Arrow, then its value buffer as is."""
    import pyarrow as pa

    if not len(table):
        return memoryview(b"")
    cells = [
        arrow_cast(_cells(c, float_format, seen, name), pa.large_string())
        for name, c in table.columns.items()
    ]
    empty, comma, newline = text(""), text(","), text("\n")
    cells[-1] = _join(cells[-1], empty, newline)  # (the last cells, not the lines)
    lines = _join(*cells, comma) if len(cells) > 1 else cells[0]
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2]
    view = memoryview(data) if data is not None else memoryview(b"")
    return view[int(offsets[0]) : int(offsets[-1])]


def write_csv(
    path: Path | str | BinaryIO, parts: Table | Sequence[Table], *, float_format: str | None = FLOAT_FORMAT
) -> None:
    """Write ``parts`` (tables with the same columns) as one CSV file, one header line."""
    tables = [parts] if isinstance(parts, Table) else list(parts)
    if isinstance(path, (str, Path)):
        with open(path, "wb") as out:
            _write(out, tables, float_format)
    else:
        _write(path, tables, float_format)


def _write(out: BinaryIO, tables: Sequence[Table], float_format: str | None) -> None:
    out.write(_header(list(tables[0].columns)))
    seen: dict[int, _Seen] = {}  # by first row: the next table's chunk there may have the same times
    for table in tables:  # a chunk at a time: the text of a chunk, not of the whole file, in memory
        for lo in range(0, len(table), CHUNK_ROWS):
            out.write(_body(table.slice(lo, lo + CHUNK_ROWS), float_format, seen.setdefault(lo, {})))


def csv_text(table: Table, *, float_format: str | None = FLOAT_FORMAT) -> str:
    """The CSV of ``table`` as a string (tests, small tables)."""
    return (_header(list(table.columns)) + bytes(_body(table, float_format))).decode()
