"""Export and audit of a 60-session store: what ``vibe-live export`` and ``vibe-live audit`` cost.

The store: the sample market (60 sessions, 5 symbols, 5m bars as four prints each) replayed through
the journal as ``--clock feed`` does (:func:`vibe_live.replaying.replay_into`), on disk in a
temporary folder next to this repo's ``var/``. Times (best of 3):
- ``export_db`` (read-only open with ``quick_check``, recorded actions, equity, the writer);
- ``audit_db`` (the log re-stepped for each day's start, bars rebuilt, 60 one-day backtests,
  comparison, the table and ``audit.json``).
Run ``python benchmarks/bench_audit.py``.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.engine import new_state
from vibe_live.audit import audit_db
from vibe_live.export import export_db
from vibe_live.recovery import Journal
from vibe_live.replaying import replay_into
from vibe_live.store import Store

REPEATS = 3
ROOT = Path(__file__).resolve().parents[1] / "var"


def main() -> None:
    ROOT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_audit.", dir=ROOT))
    try:
        sessions = calendar()
        market = sample_market(sessions=sessions)
        started = time.perf_counter()
        result = run_backtest(market, keep_bars=False)
        backtest = time.perf_counter() - started
        db = folder / "vibe.db"
        started = time.perf_counter()
        with Store(db) as store:
            journal = Journal.resume(store, lambda: new_state(result.config, sessions))
            prints = replay_into(journal, iter_bars(market))
            journal.snapshot()
        replay = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(f"store: 60 sessions, {prints:,} prints, {size:.1f} MiB; replay {replay:.2f} s")
        print(f"backtest of the same bars (for scale): {backtest:.2f} s")

        times = []
        for i in range(REPEATS):
            started = time.perf_counter()
            export_db(db, folder / f"export{i}")
            times.append(time.perf_counter() - started)
        print(f"export_db, 60 sessions: {min(times):.2f} s (best of {REPEATS})")

        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            code = audit_db(db, folder / "audit", stream=io.StringIO())
            times.append(time.perf_counter() - started)
        assert code == 0, "the sample replay should audit clean"
        per_day = min(times) / 60 * 1000
        print(f"audit_db, 60 sessions: {min(times):.2f} s (best of {REPEATS}; {per_day:.0f} ms a day), clean")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
