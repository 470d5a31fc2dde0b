"""Walk-forward analysis: pick the best grid cell on past sessions, score it on the sessions after.

Windows are counted in sessions (days with at least one bar). Window ``k`` trains on
``train`` sessions (rolling; from the first session when ``anchored``) and tests on the ``test``
sessions right after them; the next window starts ``step`` sessions later (default ``test``, so
the test windows tile the period). ``step`` shorter than ``test`` is refused: the test windows
would overlap and the stitched curve would count sessions twice. Sessions after the last full
test window are not tested.

State across windows: each test window is its own backtest (a fresh engine: the strategy's
indicators warm up again, which a live restart after re-optimising would do too) starting from
the equity the previous test window ended with. The stitched out-of-sample curve is therefore an
account's dollars, position sizes follow the account as they would live, and every session appears
once. (Intraday strategies end every session flat, so no position crosses a window boundary.)
The alternative, every window from the initial capital with returns compounded, would let the
test windows run in parallel, but integer share sizing makes it differ from what an account
would have done; the test backtests are a small share of the work (one per window against one
per grid cell and window of training), so they run one after another on the same backend.

Every training backtest of every window is one task on the backend, all submitted at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from vibe_backtest.backends import Failure
from vibe_backtest.sweep import combinations, config_for
from vibe_core.config import Config, config_to_dict
from vibe_core.metrics import sharpe

__all__ = [
    "Window",
    "make_windows",
    "market_sessions",
    "pick_best",
    "stitch",
    "run_walkforward",
    "WalkForward",
    "WALKFORWARD_FILES",
]

WALKFORWARD_FILES = frozenset({"walkforward.csv", "walkforward-equity.csv", "walkforward.html"})
_NY = "America/New_York"


@attrs.frozen
class Window:
    """Window ``index``: training sessions ``train[0] <= i < train[1]``, test ``test[0] <= i < test[1]``."""

    index: int
    train: tuple[int, int]
    test: tuple[int, int]


def make_windows(
    n_sessions: int, train: int, test: int, step: int | None = None, *, anchored: bool = False
) -> list[Window]:
    """The walk-forward windows over ``n_sessions`` sessions (indexes); ValueError names the option."""
    step = test if step is None else step
    for name, value in (("--train", train), ("--test", test), ("--step", step)):
        if value < 1:
            raise ValueError(f"{name} {value} must be at least 1 session")
    if step < test:
        raise ValueError(
            f"--step {step} is shorter than --test {test}: the test windows would overlap "
            "and the stitched out-of-sample curve would count sessions twice"
        )
    out = []
    k = 0
    while (k * step) + train + test <= n_sessions:
        lo = k * step
        out.append(Window(k, (0 if anchored else lo, lo + train), (lo + train, lo + train + test)))
        k += 1
    if not out:
        raise ValueError(f"the data has {n_sessions} sessions, fewer than --train {train} + --test {test}")
    return out


def market_sessions(market: Mapping[str, Any]) -> list[dt.date]:
    """The New York dates with at least one bar in ``market`` (``BarSeries`` per symbol), in order."""
    stamps = [np.asarray(s.ts, dtype=np.int64) for s in market.values() if len(s)]
    if not stamps:
        return []
    days = pd.to_datetime(np.unique(np.concatenate(stamps)), utc=True).tz_convert(_NY).normalize()
    return [dt.date.fromisoformat(str(d)[:10]) for d in pd.DatetimeIndex(days).unique()]


def pick_best(values: Sequence[float | None], *, lower_is_better: bool = False) -> int | None:
    """Index of the best finite value (the first on a tie, so grid order decides); None if none."""
    best: int | None = None
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        if best is None:
            best = i
            continue
        current = values[best]
        assert current is not None
        if (v < current) if lower_is_better else (v > current):
            best = i
    return best


def stitch(curves: Sequence[tuple[int, Sequence[tuple[str, float]]]]) -> pd.DataFrame:
    """One out-of-sample curve from each window's ``(window, [(date, equity), ...])``, in order.

    Raises ValueError if a date repeats or goes back: each session must be used once.
    """
    rows = [(date, window, equity) for window, points in curves for date, equity in points]
    frame = pd.DataFrame(rows, columns=["date", "window", "equity"])
    dates = frame["date"].tolist()
    if any(b <= a for a, b in itertools.pairwise(dates)):
        raise ValueError("the test windows' sessions overlap or go back in time")
    return frame


def run_window(market: Mapping[str, Any], item: tuple[dict[str, Any], str, str]) -> dict[str, Any]:
    """One out-of-sample backtest: its summary's scalars and its end-of-session equity per date."""
    from vibe_backtest.api import run_backtest
    from vibe_core.config import config_from_dict

    config, start, end = item
    result = run_backtest(market, config=config_from_dict(config), start=start, end=end, keep_bars=False)
    summary = {k: v for k, v in result.summary.items() if not isinstance(v, (list, dict))}
    equity = result.equity["equity"]
    daily = equity.groupby(pd.DatetimeIndex(equity.index).tz_convert(_NY).date).last()
    summary["daily"] = [(str(d), float(v)) for d, v in daily.items()]
    return summary


@attrs.frozen
class WalkForward:
    """The outcome: one row per window (``table``) and the stitched curve (``equity``)."""

    table: pd.DataFrame
    equity: pd.DataFrame
    keys: list[str]
    metric: str
    initial_capital: float

    @property
    def total_return(self) -> float:
        if not len(self.equity):
            return 0.0
        return float(self.equity["equity"].iloc[-1]) / self.initial_capital - 1.0

    @property
    def sharpe(self) -> float:
        values = np.concatenate([[self.initial_capital], self.equity["equity"].to_numpy(dtype=np.float64)])
        return sharpe(values[1:] / values[:-1] - 1.0)

    def write_files(self, folder: Path | str) -> None:
        """``walkforward.csv``, ``walkforward-equity.csv`` and ``walkforward.html`` into ``folder``."""
        from vibe_backtest.walkforward_report import write_walkforward_report

        folder = Path(folder)
        self.table.to_csv(folder / "walkforward.csv", index=False)
        self.equity.to_csv(folder / "walkforward-equity.csv", index=False)
        write_walkforward_report(self, folder / "walkforward.html")


def _metric(outcome: dict[str, Any] | Failure, metric: str) -> float | None:
    if isinstance(outcome, Failure):
        return None
    value = outcome.get(metric)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_walkforward(
    backend: Any,
    market: Mapping[str, Any],
    grid: dict[str, list[Any]],
    *,
    base: Config,
    train: int,
    test: int,
    step: int | None = None,
    anchored: bool = False,
    metric: str = "sharpe",
) -> WalkForward:
    """Train every window's grid on ``backend`` (one task a cell and window), then test the chosen cells."""
    from vibe_backtest.report import LOWER_IS_BETTER

    sessions = market_sessions(market)
    windows = make_windows(len(sessions), train, test, step, anchored=anchored)
    combos = combinations(grid)
    configs = [config_to_dict(config_for(base, c)) for c in combos]
    items = [
        (c, sessions[w.train[0]].isoformat(), sessions[w.train[1] - 1].isoformat())
        for w in windows
        for c in configs
    ]
    outcomes: list[dict[str, Any] | Failure] = [Failure("not run")] * len(items)
    from vibe_backtest.sweep import run_cell

    for index, value in backend.map_unordered(run_cell, items, desc="train"):
        outcomes[index] = value
    lower = metric in LOWER_IS_BETTER
    capital = base.initial_capital
    rows: list[dict[str, Any]] = []
    curves: list[tuple[int, list[tuple[str, float]]]] = []
    for w in windows:
        cells = outcomes[w.index * len(configs) : (w.index + 1) * len(configs)]
        scores = [_metric(o, metric) for o in cells]
        best = pick_best(scores, lower_is_better=lower)
        chosen = 0 if best is None else best  # no cell scored: the first, and the row says so
        test_from, test_to = sessions[w.test[0]].isoformat(), sessions[w.test[1] - 1].isoformat()
        config = config_to_dict(config_for(base, {**combos[chosen], "initial_capital": capital}))
        (_, oos), *_ = backend.map_unordered(
            run_window, [(config, test_from, test_to)], desc=f"test {w.index}"
        )
        row: dict[str, Any] = {
            "window": w.index,
            "train_from": sessions[w.train[0]].isoformat(),
            "train_to": sessions[w.train[1] - 1].isoformat(),
            "test_from": test_from,
            "test_to": test_to,
            **combos[chosen],
            f"is_{metric}": scores[chosen],
            f"oos_{metric}": _metric(oos, metric),
        }
        is_value, oos_value = row[f"is_{metric}"], row[f"oos_{metric}"]
        row["gap"] = None if is_value is None or oos_value is None else is_value - oos_value
        row["start_equity"] = capital
        if isinstance(oos, Failure):
            row.update(end_equity=capital, oos_total_return=None, oos_trades=None, error=oos.error)
        else:
            capital = float(oos["final_equity"])
            row.update(
                end_equity=capital,
                oos_total_return=oos["total_return"],
                oos_trades=oos["n_trades"],
                error="",
            )
            curves.append((w.index, oos["daily"]))
        failed = sum(isinstance(o, Failure) for o in cells)
        row["failed_cells"] = failed
        if best is None and not row["error"]:
            row["error"] = f"no training cell had a {metric} value; the first cell was tested"
        rows.append(row)
    return WalkForward(
        table=pd.DataFrame(rows),
        equity=stitch(curves),
        keys=list(grid),
        metric=metric,
        initial_capital=base.initial_capital,
    )
