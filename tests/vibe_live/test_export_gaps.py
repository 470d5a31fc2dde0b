"""Feed gaps through the service's store: the ``gaps`` table, ``vibe-live export``'s gaps.csv equal
to the backtest's for bars with holes, and logged ``FeedStatus`` events replayed into the same
decisions after a restart."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.data import BarSeries, iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.engine import new_state, save_state
from vibe_core.events import FeedStatus
from vibe_core.types import NS_PER_MINUTE
from vibe_live.export import export_db
from vibe_live.rebuild import final_state, stored_config
from vibe_live.recovery import Journal
from vibe_live.replaying import replay_into
from vibe_live.store import Store

SESSIONS = calendar()
END = dt.date(2024, 5, 31)


def without(series: BarSeries, day: dt.date, first: int, last: int) -> BarSeries:
    session = SESSIONS.for_date(day)
    assert session is not None
    lo, hi = session.open + first * NS_PER_MINUTE, session.open + last * NS_PER_MINUTE
    keep = ~((series.ts >= lo) & (series.ts < hi))
    cols = ("ts", "open", "high", "low", "close", "volume")
    return attrs.evolve(series, **{c: np.asarray(getattr(series, c))[keep] for c in cols})


def holed_market():
    market = sample_market(sessions=SESSIONS, n_sessions=8, end=END)
    days = sorted({SESSIONS.session_at(int(t)).date for t in market["AAPL"].ts})
    holed = dict(market)
    holed["AAPL"] = without(market["AAPL"], days[1], 5, 10)  # inside the opening range
    holed["MSFT"] = without(market["MSFT"], days[3], 100, 160)  # mid-session
    holed["TSLA"] = without(market["TSLA"], days[5], 380, 390)  # through the close
    return holed, days


def test_the_export_of_a_holed_replay_equals_the_backtest_gaps_included(tmp_path):
    market, days = holed_market()
    result = run_backtest(market, keep_bars=False)
    result.write(tmp_path / "backtest", report=False)
    db = tmp_path / "vibe.db"
    with Store(db) as store:
        journal = Journal.resume(store, lambda: new_state(result.config, SESSIONS))
        replay_into(journal, iter_bars(market))
        journal.snapshot()
        rows = store.rows("gaps")
    assert [(r["symbol"], r["reason"]) for r in rows] == [
        ("AAPL", "stale"),
        ("MSFT", "stale"),
        ("TSLA", "stale"),
    ]
    assert set(rows[0]) == {"seq", "idx", "symbol", "start", "end", "reason", "action"}
    exported = export_db(db, tmp_path / "export")
    for name in ("gaps.csv", "trades.csv", "orders.csv", "fills.csv", "equity.csv"):
        assert (exported / name).read_bytes() == (tmp_path / "backtest" / name).read_bytes(), name
    ours = (exported / "signals.csv").read_text().replace("finnhub bars", "sample bars")
    assert ours == (tmp_path / "backtest" / "signals.csv").read_text()
    gaps = (exported / "gaps.csv").read_text().splitlines()
    assert gaps[0] == "symbol,start,end,reason"
    assert gaps[1].startswith(
        f"AAPL,{days[1].isoformat()}T09:34:59-04:00,{days[1].isoformat()}T09:40:00-04:00"
    )
    assert gaps[3].endswith("T16:00:00-04:00,stale")  # TSLA: still silent at the close
    assert "opening range incomplete" in ours


def test_logged_feed_status_gates_entries_and_replays_alike_after_a_restart(tmp_path):
    """The feed down for the first hour of every day (no data meanwhile): no entry while down, the
    outage is a gap of the whole feed, and a restart from the log alone decides exactly alike."""
    market = sample_market(sessions=SESSIONS, n_sessions=4, end=END)
    days = sorted({SESSIONS.session_at(int(t)).date for t in market["AAPL"].ts})
    statuses = []
    for day in days:
        session = SESSIONS.for_date(day)
        assert session is not None
        for symbol in market:
            market[symbol] = without(market[symbol], day, 20, 80)
        statuses.append(
            FeedStatus(ts=session.open + 20 * NS_PER_MINUTE, connected=False, reason="closed by server")
        )
        statuses.append(FeedStatus(ts=session.open + 80 * NS_PER_MINUTE, connected=True))
    config = run_backtest(market, keep_bars=False).config
    db = tmp_path / "vibe.db"
    with Store(db) as store:
        journal = Journal.resume(store, lambda: new_state(config, SESSIONS))
        replay_into(journal, iter_bars(market), commands=statuses)
        expected = save_state(journal.state)
        gaps = store.rows("gaps")
        signals = store.rows("signals")
    assert [(g["symbol"], g["reason"]) for g in gaps] == [("*", "feed down: closed by server")] * len(days)
    for g in gaps:
        session = SESSIONS.session_at(g["start"])
        assert session is not None and g["end"] == session.open + 80 * NS_PER_MINUTE
    down = [s for s in signals if s["vetoes"].startswith('["feed down')]
    for s in signals:
        session = SESSIONS.session_at(s["time"] - 1)
        assert session is not None
        if session.open + 20 * NS_PER_MINUTE <= s["time"] <= session.open + 80 * NS_PER_MINUTE:
            assert s in down and not s["accepted"]
    assert down  # (the 09:45 bars close at 09:50, just after the feed went down)
    with Store(db, readonly=True) as store:
        state, _ = final_state(store, stored_config(store), SESSIONS)  # no snapshot: the whole log again
    assert save_state(state) == expected
