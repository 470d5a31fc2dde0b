"""vibe_backtest: a synchronous loop over Parquet/CSV bars that drives the vibe core.

``run_backtest`` is the notebook entry point; ``vibe-backtest`` the command line. No trading
decision is made here: bars become events, actions become records.
"""

from vibe_backtest.api import run_backtest
from vibe_backtest.data import BarSeries, DataError, load_dir, load_file
from vibe_backtest.results import BacktestResult

__all__ = ["BacktestResult", "BarSeries", "DataError", "load_dir", "load_file", "run_backtest"]
