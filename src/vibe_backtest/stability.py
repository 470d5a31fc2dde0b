"""Parameter stability: how a sweep cell's metric compares with its neighbours' on the grid.

A cell that beats its neighbours by far is a lone peak: a small change of any parameter loses
the edge, the signature of an overfitted choice. A robust cell sits on a plateau (its neighbours
score about as well). Neighbours are the cells one grid step away along any number of keys
(diagonals included), the values of each key taken in sorted order (the grid's order when the
values cannot be sorted). Pure functions of the sweep table.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["axis_values", "metric_grid", "neighbour_stats", "stability_table"]

F64 = npt.NDArray[np.float64]


def axis_values(values: Sequence[Any]) -> list[Any]:
    """The distinct values of one key, sorted when they can be, else in first-seen order."""
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen)
    except TypeError:
        return seen


def metric_grid(table: pd.DataFrame, keys: Sequence[str], metric: str) -> tuple[F64, list[list[Any]]]:
    """The metric as an array with one axis per key (mean of duplicate cells; NaN for a missing or
    failed cell) and each axis's values."""
    axes = [axis_values(table[k].tolist()) for k in keys]
    index = [{v: i for i, v in enumerate(axis)} for axis in axes]
    total = np.zeros([len(a) for a in axes])
    count = np.zeros([len(a) for a in axes])
    values = pd.to_numeric(table[metric], errors="coerce").to_numpy(dtype=np.float64)
    for row, value in zip(table[list(keys)].itertuples(index=False, name=None), values, strict=True):
        if np.isfinite(value):
            at = tuple(index[d][v] for d, v in enumerate(row))
            total[at] += value
            count[at] += 1
    with np.errstate(invalid="ignore"):
        grid: F64 = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return grid, axes


def neighbour_stats(grid: F64) -> dict[str, F64]:
    """Per cell: ``mean``, ``min``, ``max`` and ``count`` of its finite neighbours' values (NaN
    where it has none)."""
    shape = grid.shape
    stacked = []
    for offset in itertools.product((-1, 0, 1), repeat=grid.ndim):
        if not any(offset):
            continue
        shifted = np.full(shape, np.nan)
        src = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape, strict=True))
        dst = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape, strict=True))
        shifted[dst] = grid[src]
        stacked.append(shifted)
    if not stacked:  # a 0-d grid
        nan = np.full(shape, np.nan)
        return {"mean": nan, "min": nan, "max": nan, "count": np.zeros(shape)}
    cube = np.stack(stacked)
    finite = np.isfinite(cube)
    count = finite.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore"):
        mean = np.where(count > 0, np.where(finite, cube, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)
        low = np.where(count > 0, np.where(finite, cube, np.inf).min(axis=0), np.nan)
        high = np.where(count > 0, np.where(finite, cube, -np.inf).max(axis=0), np.nan)
    return {"mean": mean, "min": low, "max": high, "count": count}


def stability_table(table: pd.DataFrame, keys: Sequence[str], metric: str) -> pd.DataFrame:
    """Per grid cell with a value: its keys, ``metric``, the neighbours' mean, min, max and count,
    and ``peak_gap`` = the cell's value minus its neighbours' mean (large: a lone peak)."""
    grid, axes = metric_grid(table, keys, metric)
    stats = neighbour_stats(grid)
    rows = []
    for at in itertools.product(*(range(len(a)) for a in axes)):
        value = grid[at]
        if not np.isfinite(value):
            continue
        row: dict[str, Any] = {k: axes[d][at[d]] for d, k in enumerate(keys)}
        row[metric] = float(value)
        row["neighbours"] = int(stats["count"][at])
        row["neighbour_mean"] = float(stats["mean"][at])
        row["neighbour_min"] = float(stats["min"][at])
        row["neighbour_max"] = float(stats["max"][at])
        row["peak_gap"] = float(value - stats["mean"][at])
        rows.append(row)
    columns = [*keys, metric, "neighbours", "neighbour_mean", "neighbour_min", "neighbour_max", "peak_gap"]
    return pd.DataFrame(rows, columns=columns)
