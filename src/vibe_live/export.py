"""``vibe-live export``: a session's store written as the backtester's result files.

The read tables are turned back into what the backtest loop hands to
:meth:`vibe_backtest.results.BacktestResult.from_loop` (its recorder, fed the recorded actions in
the order the engine emitted them; the equity samples; the daily closes), and the backtester's own
writer writes them, atomically: ``trades.csv``, ``orders.csv``, ``fills.csv``, ``equity.csv``,
``signals.csv``, ``gaps.csv`` (the ``gaps`` table), ``summary.json`` and ``config.json``, with the
same headers, column order and number and time formats. A replayed session therefore compares
with a backtest of the same days with ``diff``; ``summary.json`` differs in ``wall_seconds`` only
(0.0 here: a live session has no backtest run time). No ``report.html``: the report needs the
bars, which the audit rebuilds.

``bars_processed`` counts the 5m bars the logged prints make: the distinct (symbol, 5-minute
interval) pairs, intervals counted from the epoch, which is the session-open grid for NYSE hours
(every open and close is on the 5-minute grid).
"""

from __future__ import annotations

from pathlib import Path

from vibe_backtest.api import calendar
from vibe_backtest.loop import LoopResult
from vibe_backtest.results import BacktestResult
from vibe_core.types import Timeframe
from vibe_live.rebuild import final_state, recorded, recorder_of, stored_config
from vibe_live.store import Store

__all__ = ["export_db", "session_result"]


def export_db(db: Path, out: Path) -> Path:
    """Write the backtester's result files for the session in ``db`` into the folder ``out``.

    ``db`` is opened read-only: a missing, foreign or damaged store raises :class:`StoreError`
    naming it. ``out`` is written as the backtester writes ``--out`` (a new folder, an empty one or
    an earlier run's results; :class:`~vibe_backtest.results.OutputError` otherwise), complete or
    not at all.
    """
    with Store(db, readonly=True) as store:
        result = session_result(store)
    return result.write(out, report=False)


def session_result(store: Store) -> BacktestResult:
    """The session in ``store`` as a :class:`~vibe_backtest.results.BacktestResult` (frames and summary)."""
    config = stored_config(store)
    state, _ = final_state(store, config, calendar())
    recorder = recorder_of(action for _, action in recorded(store))
    equity = store.rows("equity")
    daily = store.rows("sessions")
    loop = LoopResult(
        state=state,
        recorder=recorder,
        equity_ts=[r["time"] for r in equity],
        equity_cash=[r["cash"] for r in equity],
        equity_value=[r["equity"] for r in equity],
        exposed=[bool(r["exposed"]) for r in equity],
        daily_ts=[r["close"] for r in daily],
        daily_equity=[r["end_equity"] for r in daily],
        bars_processed=_bars_seen(store),
        wall_seconds=0.0,
    )
    extra = {
        "start": daily[0]["date"] if daily else None,
        "end": daily[-1]["date"] if daily else None,
        "symbols": list(config.symbols),
    }
    return BacktestResult.from_loop(loop, config, extra=extra)


def _bars_seen(store: Store) -> int:
    """The number of 5m bars the logged prints make (see the module docstring)."""
    query = (
        "SELECT count(*) FROM (SELECT DISTINCT json_extract(payload, '$.symbol'), ts / ?"
        " FROM events WHERE kind = 'Trade')"
    )
    with store._errors("read the log"):
        return int(store._db.execute(query, (Timeframe.M5.ns,)).fetchone()[0])
