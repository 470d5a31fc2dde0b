"""Parameter sweeps: every combination of a grid, run in parallel processes, one summary row each.

Each worker loads the market once (the sample is regenerated deterministically; files are read
again) and runs its combinations with the same engine as ``vibe-backtest run``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from vibe_backtest.results import atomic_dir
from vibe_core.config import Config, ConfigError, config_to_dict

__all__ = ["parse_grid", "combinations", "run_sweep", "write_sweep_files", "SWEEP_FILES"]

SWEEP_FILES = frozenset({"sweep.csv", "sweep.html"})

_MARKET: Any = None


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
            _config_for(base or Config(), {key: value})
        grid[key] = parsed
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def _config_for(base: Config, combo: dict[str, Any]) -> Config:
    """``base`` with one grid combination on top; a refused value names ``--grid`` and its key."""
    from vibe_backtest.layers import DEFAULT, Layer
    from vibe_backtest.settings import build_config, dotted_layer

    layers = [Layer(DEFAULT, config_to_dict(base)), dotted_layer("--grid", combo.items())]
    config, _ = build_config(layers)
    return config


def _init_worker(market_args: dict[str, Any]) -> None:
    global _MARKET
    from vibe_backtest.api import load_market

    _MARKET = load_market(**market_args)


def _run_one(config_data: dict[str, Any]) -> dict[str, Any]:
    from vibe_backtest.api import run_backtest
    from vibe_core.config import config_from_dict

    result = run_backtest(_MARKET, config=config_from_dict(config_data), keep_bars=False)
    return result.summary


def run_sweep(
    grid: dict[str, list[Any]],
    *,
    base: Config,
    data: str | Path | None = None,
    source: str | None = None,
    symbols: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    tz: str = "America/New_York",
    workers: int | None = None,
    out: Path | str | None = None,
    metric: str = "sharpe",
) -> pd.DataFrame:
    """Run every combination; returns one row per combination (its keys, then its summary)."""
    combos = combinations(grid)
    configs = [config_to_dict(_config_for(base, c)) for c in combos]  # validate every combination first
    market_args: dict[str, Any] = {
        "data": data,
        "source": source,
        "symbols": symbols,
        "start": start,
        "end": end,
        "tz": tz,
    }
    from vibe_backtest.api import load_market

    load_market(**market_args)  # fail fast, in this process, on bad input
    workers = max(1, min(workers or os.cpu_count() or 1, len(combos)))
    from tqdm import tqdm

    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(market_args,)) as pool:
        summaries = list(
            tqdm(
                pool.map(_run_one, configs),
                total=len(configs),
                desc="sweep",
                unit="run",
                leave=False,
                disable=None,
            )
        )
    rows = []
    for combo, summary in zip(combos, summaries, strict=True):
        row = dict(combo)
        row.update({k: v for k, v in summary.items() if not isinstance(v, (list, dict))})
        rows.append(row)
    table = pd.DataFrame(rows)
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
