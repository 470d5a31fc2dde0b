"""vibe_backtest: a synchronous loop over Parquet/CSV bars that drives the vibe core.

``run_backtest`` is the notebook entry point; ``vibe-backtest`` the command line. No trading
decision is made here: bars become events, actions become records.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vibe_backtest.api import run_backtest
    from vibe_backtest.data import BarSeries, DataError, load_dir, load_file
    from vibe_backtest.results import BacktestResult

__all__ = ["BacktestResult", "BarSeries", "DataError", "load_dir", "load_file", "run_backtest"]

_HOMES = {
    "run_backtest": "vibe_backtest.api",
    "BarSeries": "vibe_backtest.data",
    "DataError": "vibe_backtest.data",
    "load_dir": "vibe_backtest.data",
    "load_file": "vibe_backtest.data",
    "BacktestResult": "vibe_backtest.results",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: ``python -m vibe_backtest.cli`` imports this package
    first, and a command loads only the modules it runs."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'vibe_backtest' has no attribute {name!r}")
