"""Walk-forward analysis: pick the best grid cell on past sessions, score it on the sessions
after.

Windows are counted in sessions (days with at least one bar). Window ``k`` trains on ``train``
sessions (rolling; from the first session when ``anchored``) and tests on the ``test`` sessions
right after them; the next window starts ``step`` sessions later (default ``test``, so the test
windows tile the period). ``step`` shorter than ``test`` is refused: the test windows would
overlap and the stitched curve would count sessions twice. Sessions after the last full test
window are not tested.

State across windows: each test window is its own backtest starting from the equity the previous
test window ended with. Its engine first runs over the ``warmup`` sessions before the window (its
indicators and validation rules warm up; the trades and P&L of those sessions are dropped and the
account is reset to the carried equity), so the first test sessions are not vetoed for want of
history, as they would not be in a live service that kept running while re-optimised. The stitched
out-of-sample curve is therefore an account's dollars, position sizes follow the account as they
would live, and every session appears once. (Intraday strategies end every session flat, so no
position crosses a window boundary.) The alternative, every window from the initial capital with
returns compounded, would let the test windows run in parallel, but integer share sizing makes it
differ from what an account would have done; the test backtests are a small share of the work (one
per window against one per grid cell and window of training), so they run one after another on the
same backend.

Every training backtest of every window is one task on the backend, all submitted at once; a
training run warms up the same way on the ``warmup`` sessions before its window (when there are
any), so in-sample and out-of-sample figures start alike.
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
    """Window ``index``: training sessions ``train[0] <= i < train[1]``, test ``test[0] <= i < test[1]``,
    indicator warm-up before the test ``warm[0] <= i < warm[1] == test[0]`` (no P&L counted)."""

    index: int
    train: tuple[int, int]
    test: tuple[int, int]
    warm: tuple[int, int] = (0, 0)


def make_windows(
    n_sessions: int,
    train: int,
    test: int,
    step: int | None = None,
    *,
    anchored: bool = False,
    warmup: int = 0,
) -> list[Window]:
    """The walk-forward windows over ``n_sessions`` sessions (indexes); ValueError names the option."""
    step = test if step is None else step
    for name, value in (("--train", train), ("--test", test), ("--step", step)):
        if value < 1:
            raise ValueError(f"{name} {value} must be at least 1 session")
    if warmup < 0:
        raise ValueError(f"--warmup {warmup} must be 0 or more sessions")
    if step < test:
        raise ValueError(
            f"--step {step} is shorter than --test {test}: the test windows would overlap "
            "and the stitched out-of-sample curve would count sessions twice"
        )
    out = []
    k = 0
    while (k * step) + train + test <= n_sessions:
        lo = k * step
        first_test = lo + train
        out.append(
            Window(
                k,
                (0 if anchored else lo, first_test),
                (first_test, first_test + test),
                (max(0, first_test - warmup), first_test),
            )
        )
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


def run_window(
    market: Mapping[str, Any], item: tuple[dict[str, Any], str | None, str, str]
) -> dict[str, Any]:
    """One out-of-sample backtest of ``(config, warm-up from, test from, test to)``: its summary's
    scalars and its end-of-session equity per date.

    The engine runs over the warm-up sessions first (``None``: none); then the account is reset
    to ``initial_capital`` (every session ends flat) and the test sessions are run and recorded.
    """
    from vibe_backtest.api import calendar
    from vibe_backtest.data import date_range, day_bounds_ns
    from vibe_backtest.loop import run_market
    from vibe_backtest.results import BacktestResult
    from vibe_core.config import config_from_dict
    from vibe_core.engine import new_state
    from vibe_core.portfolio import Portfolio
    from vibe_core.risk import RiskState

    data, warm_from, start, end = item
    symbols = tuple(s for s, v in market.items() if len(v))
    config = attrs.evolve(config_from_dict(data), symbols=symbols)
    sessions = calendar()
    state = new_state(config, sessions)
    lo, hi = day_bounds_ns(start, end)
    if warm_from is not None:
        warm_lo, _ = day_bounds_ns(warm_from, None)
        run_market({s: market[s].between(warm_lo, lo) for s in symbols}, config, sessions, state=state)
        if state.portfolio.positions:  # a strategy that holds overnight: warm-up would leak P&L
            raise ValueError("a position is still open after the warm-up sessions; use --warmup 0")
        state.portfolio = Portfolio.new(config.initial_capital)
        state.risk = RiskState(session_start_equity=config.initial_capital)
    test = {s: market[s].between(lo, hi) for s in symbols}
    loop = run_market(test, config, sessions, state=state)
    first, last = date_range(test)
    extra = {"start": first.isoformat(), "end": last.isoformat()}
    result = BacktestResult.from_loop(loop, config, extra=extra)
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
    warmup: int = 5,
) -> WalkForward:
    """Train every window's grid on ``backend`` (one task a cell and window), then test the chosen cells."""
    from vibe_backtest.report import LOWER_IS_BETTER

    sessions = market_sessions(market)
    windows = make_windows(len(sessions), train, test, step, anchored=anchored, warmup=warmup)
    combos = combinations(grid)
    configs = [config_to_dict(config_for(base, c)) for c in combos]

    def warm_from(first: int) -> str | None:  # the warm-up before a run starting at session ``first``
        return sessions[max(0, first - warmup)].isoformat() if warmup and first > 0 else None

    items = [
        (c, warm_from(w.train[0]), sessions[w.train[0]].isoformat(), sessions[w.train[1] - 1].isoformat())
        for w in windows
        for c in configs
    ]
    outcomes: list[dict[str, Any] | Failure] = [Failure("not run")] * len(items)
    for index, value in backend.map_unordered(run_window, items, desc="train"):
        if isinstance(value, dict):
            value.pop("daily", None)
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
        warm = sessions[w.warm[0]].isoformat() if w.warm[1] > w.warm[0] else None
        item = (config, warm, test_from, test_to)
        (_, oos), *_ = backend.map_unordered(run_window, [item], desc=f"test {w.index}")
        row: dict[str, Any] = {
            "window": w.index,
            "train_from": sessions[w.train[0]].isoformat(),
            "train_to": sessions[w.train[1] - 1].isoformat(),
            "warmup_from": warm or "",
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
