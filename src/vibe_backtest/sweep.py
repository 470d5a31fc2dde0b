"""Parameter sweeps: every combination of a grid, run on a backend (Dask or a process pool), one row each.

The market is read once, by the command, and shipped once to each worker (:mod:`vibe_backtest.backends`);
each task runs one combination with the same engine as ``vibe-backtest run`` and returns its
summary. Rows come back as tasks finish and are put back in grid order, so ``sweep.csv`` is the
same file whatever the backend, the number of workers or the order the tasks ran in. A
combination that raises is a row with its parameters and an ``error`` (the other columns empty);
the sweep goes on. Timings (``wall_seconds``) and the count of bars stepped are left out of the
table: they measure the machine and the engine's shortcut, not the parameters, and would make two
identical sweeps differ.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vibe_backtest.backends import BackendName, Failure, open_backend
from vibe_backtest.results import atomic_dir
from vibe_core.config import Config, ConfigError, config_to_dict

__all__ = [
    "parse_grid",
    "combinations",
    "config_for",
    "run_sweep",
    "run_cells",
    "sweep_table",
    "write_sweep_files",
    "SWEEP_FILES",
    "ERROR_COLUMN",
]

SWEEP_FILES = frozenset({"sweep.csv", "sweep.html"})
ERROR_COLUMN = "error"
#: summary fields that measure how the run was computed, not what it gave: its time, and how many
#: bars the engine stepped (the rest could change nothing)
_TIMINGS = frozenset({"wall_seconds", "bars_stepped"})


def parse_grid(items: Sequence[str], *, base: Config | None = None) -> dict[str, list[Any]]:
    """``["strategy.reward_risk=1.5,2,3"]`` -> ``{"strategy.reward_risk": [1.5, 2, 3]}``.

    Every value is checked on ``base`` (default: the defaults in code); errors name ``--grid``.
    """
    from vibe_backtest.settings import parse_assignment

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, raw = parse_assignment(item, "--grid")
        values = str(raw).split(",") if isinstance(raw, str) else [raw]
        parsed = [
            parse_assignment(f"{key}={v.strip() if isinstance(v, str) else v}", "--grid")[1] for v in values
        ]
        if key in grid:
            raise ConfigError(f"--grid {key} given twice")
        for value in parsed:
            config_for(base or Config(), {key: value})
        grid[key] = parsed
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def config_for(base: Config, combo: Mapping[str, Any], layer: str = "--grid") -> Config:
    """``base`` with one grid combination on top; a refused value names ``layer`` and its key."""
    from vibe_backtest.layers import DEFAULT, Layer
    from vibe_backtest.settings import build_config, dotted_layer

    layers = [Layer(DEFAULT, config_to_dict(base)), dotted_layer(layer, combo.items())]
    config, _ = build_config(layers)
    return config


def run_cell(
    market: Mapping[str, Any], item: tuple[dict[str, Any], str | None, str | None]
) -> dict[str, Any]:
    """One backtest of ``(config dict, first day, last day)`` on ``market``: its scalar summary fields."""
    from vibe_backtest.api import run_backtest
    from vibe_core.config import config_from_dict

    config, start, end = item
    result = run_backtest(market, config=config_from_dict(config), start=start, end=end, keep_bars=False)
    return {k: v for k, v in result.summary.items() if not isinstance(v, (list, dict)) and k not in _TIMINGS}


def run_cells(
    backend: Any,
    configs: Sequence[dict[str, Any]],
    *,
    start: str | None = None,
    end: str | None = None,
    desc: str = "sweep",
) -> list[dict[str, Any] | Failure]:
    """Every config (as dicts) over ``start..end`` on ``backend``; results in the configs' order."""
    out: list[dict[str, Any] | Failure] = [Failure("not run")] * len(configs)
    for index, value in backend.map_unordered(run_cell, [(c, start, end) for c in configs], desc=desc):
        out[index] = value
    return out


def sweep_table(
    combos: Sequence[Mapping[str, Any]], outcomes: Sequence[dict[str, Any] | Failure]
) -> pd.DataFrame:
    """One row per combination: its keys, its summary fields, then ``error`` (empty when it ran)."""
    fields: list[str] = []
    for outcome in outcomes:
        if not isinstance(outcome, Failure):
            fields = [k for k in outcome if k not in fields]
            break
    rows = []
    for combo, outcome in zip(combos, outcomes, strict=True):
        row: dict[str, Any] = dict(combo)
        if isinstance(outcome, Failure):
            row.update(dict.fromkeys(fields))
            row[ERROR_COLUMN] = outcome.error
        else:
            row.update({k: outcome.get(k) for k in fields})
            row[ERROR_COLUMN] = ""
        rows.append(row)
    return pd.DataFrame(rows, columns=[*(combos[0] if combos else {}), *fields, ERROR_COLUMN])


def run_sweep(
    grid: dict[str, list[Any]],
    *,
    base: Config,
    data: str | Path | Mapping[str, Any] | None = None,
    source: str | None = None,
    symbols: Sequence[str] | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    tz: str = "America/New_York",
    workers: int | None = None,
    out: Path | str | None = None,
    metric: str = "sharpe",
    backend: BackendName = "auto",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run every combination; returns one row per combination (its keys, its summary, ``error``).

    ``backend``: ``dask`` (a ``LocalCluster`` of ``workers`` processes, or the cluster at
    ``scheduler``), ``pool`` (a process pool), ``auto`` (Dask when installed).
    """
    from vibe_backtest.api import load_market

    combos = combinations(grid)
    configs = [config_to_dict(config_for(base, c)) for c in combos]  # validate every combination first
    market = load_market(data, source=source, symbols=symbols, start=start, end=end, tz=tz)  # type: ignore[arg-type]
    with open_backend(market, backend=backend, workers=workers, scheduler=scheduler, tasks=len(configs)) as b:
        outcomes = run_cells(b, configs)
    table = sweep_table(combos, outcomes)
    if out is not None:
        with atomic_dir(out, SWEEP_FILES) as folder:
            write_sweep_files(table, list(grid), metric, folder)
    return table


def write_sweep_files(table: pd.DataFrame, keys: list[str], metric: str, folder: Path | str) -> None:
    """``sweep.csv`` and ``sweep.html`` into the existing ``folder``."""
    from vibe_backtest.report import write_sweep_report

    folder = Path(folder)
    table.to_csv(folder / "sweep.csv", index=False)
    write_sweep_report(table, keys, metric, folder / "sweep.html")
