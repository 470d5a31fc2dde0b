"""numpy <-> Arrow without pandas: ``pa.array``, ``pa.scalar`` and ``Array.to_numpy`` import pandas
(pyarrow checks whether a value is a pandas object), which costs a quarter of a second a run.

These helpers move primitive columns through their buffers instead (no copy where the layouts
agree) and build string arrays from their bytes; every Arrow kernel the CLI's path calls is
given Arrow values made here, never a Python value pyarrow would have to convert.

Arrow's kernels are called through :func:`kernel` and :func:`arrow_cast`, never ``pyarrow.compute``:
importing that module costs ~25 ms a process (it builds a Python wrapper with a docstring for each
of its ~300 kernels), and pyarrow's own methods (``Array.cast``, ``ChunkedArray.cast``,
``fill_null``, ``take``) import it on their first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["kernel", "arrow_cast", "from_numpy", "strings", "text", "to_numpy", "to_bools", "release_memory"]


def kernel(name: str, *args: Any, options: Any = None) -> Any:
    """Arrow's compute function ``name`` on ``args`` with ``options`` (a ``pyarrow._compute``
    options object; ``None``: the function's defaults), what ``pyarrow.compute.<name>`` calls,
    without importing ``pyarrow.compute`` (~25 ms: a documented wrapper for each of its kernels)."""
    from pyarrow._compute import call_function

    return call_function(name, list(args), options)


def arrow_cast(values: Any, kind: pa.DataType) -> Any:
    """``values.cast(kind)`` (a safe cast: overflow and truncation raise) without pyarrow.compute."""
    from pyarrow._compute import CastOptions

    return kernel("cast", values, options=CastOptions.safe(kind))


def from_numpy(values: npt.NDArray[Any], kind: pa.DataType | None = None) -> pa.Array:
    """A numeric (or bool) numpy array as an Arrow array of ``kind`` (default: the same type)."""
    import pyarrow as pa

    arr = np.ascontiguousarray(values)
    if arr.dtype == np.bool_:
        flags = pa.Array.from_buffers(pa.int8(), len(arr), [None, pa.py_buffer(arr.view(np.int8))])
        result: pa.Array = arrow_cast(flags, pa.bool_())
        return result
    if kind is None:
        kind = pa.from_numpy_dtype(arr.dtype)
    return pa.Array.from_buffers(kind, len(arr), [None, pa.py_buffer(arr)])


def strings(items: Sequence[str]) -> pa.Array:
    """Python strings as an Arrow ``large_string`` array (no nulls)."""
    import pyarrow as pa

    joined = "".join(items)
    if joined.isascii():  # one byte a character: the lengths are the strings' own
        sizes = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        raw = joined.encode("ascii")
    else:
        encoded = [s.encode() for s in items]
        sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        raw = b"".join(encoded)
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = pa.py_buffer(raw)
    return pa.Array.from_buffers(pa.large_string(), len(sizes), [None, pa.py_buffer(offsets), data])


def text(value: str) -> pa.Scalar:
    """One string as an Arrow scalar (a separator, a replacement)."""
    return strings([value])[0]


def to_numpy(values: pa.Array | pa.ChunkedArray, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """The values buffer of a primitive array without nulls, viewed as ``dtype`` (read-only)."""
    import pyarrow as pa

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not len(arr):
        return np.zeros(0, dtype=dtype)
    buffer = arr.buffers()[1]
    return np.frombuffer(buffer, dtype=dtype)[arr.offset : arr.offset + len(arr)]


def to_bools(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """A boolean Arrow array (nulls count as false) as a numpy bool array."""
    import pyarrow as pa

    # values.fill_null(false): pyarrow.compute.fill_null calls "coalesce" (the types are the same)
    flags = (
        kernel("coalesce", values, from_numpy(np.zeros(1, dtype=bool))[0]) if values.null_count else values
    )
    return to_numpy(arrow_cast(flags, pa.int8()), np.int8).astype(bool)


def release_memory() -> None:
    """Give the memory Arrow's pool keeps after reading files back to the system (with the system
    pool, glibc's ``malloc_trim``: what the Parquet and CSV readers freed, ~100 MB for 10 years)."""
    import sys

    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
