"""Yahoo warm-up, archive and backfill through the real service (feed clock), a real SQLite store and
the real ``yfinance.download`` over a fake ``Ticker`` (tests/fakes/yahoo.py): never the network.

The market is the seeded sample market (AAPL, MSFT) on the shared real Yahoo bars' sessions,
2024-05-01 .. 2024-05-28, so every test runs in a fresh clone: Yahoo serves it, and the live day
2024-05-28 is played from it as prints; the warm-up comes from the sessions before it. One variant of
the warm-up test runs on the shared real bars themselves, when they are here.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import anyio
import attrs
import pandas as pd
import pytest
from tests.fakes.yahoo import (
    FakeYahoo,
    generated_market,
    rate_limit_error,
    series_history,
    shared_dir,
)

from vibe_backtest.api import calendar
from vibe_backtest.data import BarSeries, iter_bars, load_dir, load_file
from vibe_core.actions import Notify
from vibe_core.config import config_from_dict, config_to_dict
from vibe_core.engine import new_state, save_state, step
from vibe_core.events import Bar, FeedStatus, Pause, Resume, Trade
from vibe_core.types import Severity
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.history import YahooHistory, make_history
from vibe_live.history.archive import archive_path, load_archive
from vibe_live.history.backfill import backfill
from vibe_live.history.gaps import find_gaps
from vibe_live.history.warmup import WARMUP_REASON, warmup_plan
from vibe_live.logs import setup_logging
from vibe_live.service import LiveService
from vibe_live.settings import Settings
from vibe_live.store import Store

SYMBOLS = ("AAPL", "MSFT")
MARKET = generated_market(SYMBOLS)
LIVE_DAY = dt.date(2024, 5, 28)
SESSIONS = calendar()
OPEN = SESSIONS.for_date(LIVE_DAY).open  # type: ignore[union-attr]
M5 = 300 * 10**9


class Recorder:
    """A Notifier that keeps the notices it was given: the shell's and the core's ``Notify`` actions."""

    def __init__(self) -> None:
        self.sent: list[Notify] = []

    def notice(self, action: Notify) -> None:
        self.sent.append(action)

    def started(self, **kwargs: object) -> None: ...

    def record(self, sourced: Any, view: object, transition: object) -> None:
        self.sent += [a for _, _, actions in sourced for a in actions if isinstance(a, Notify)]

    def stopped(self, **kwargs: object) -> None: ...

    def failed(self, **kwargs: object) -> None: ...

    async def run(self) -> None: ...

    async def drain(self, grace: float | None = None) -> int:
        return 0


def day_series(day: dt.date, market: dict[str, BarSeries] = MARKET) -> dict[str, BarSeries]:
    """The bars of ``market`` in the session of ``day``."""
    session = SESSIONS.for_date(day)
    assert session is not None
    return {s: market[s].between(session.open, session.close) for s in SYMBOLS}


def yahoo_bars(market: dict[str, BarSeries] = MARKET) -> dict[str, pd.DataFrame]:
    """What Yahoo serves: the whole of ``market``."""
    return {s: series_history(market[s]) for s in SYMBOLS}


def real_market() -> dict[str, BarSeries]:
    folder = shared_dir()
    assert folder is not None
    return {s: load_file(folder / f"{s}.csv", symbol=s, source="yahoo") for s in SYMBOLS}


def settings_for(cache: Path, **data: object) -> Settings:
    base = Settings()
    defaults = {"cache_dir": str(cache), "yahoo_retries": 2, "yahoo_backoff_s": 0.0, "yahoo_timeout_s": 5.0}
    return attrs.evolve(
        base,
        core=attrs.evolve(base.core, symbols=SYMBOLS),
        data=attrs.evolve(base.data, **{**defaults, **data}),  # type: ignore[arg-type]
        features=attrs.evolve(base.features, enable_notifications=True),
    )


def run_day(
    db: Path, settings: Settings, fake: FakeYahoo, bars: list[Bar], notifier: Recorder
) -> LiveService:
    """One session of ``bars`` as prints through the service with its history hook; returns it."""
    first = SESSIONS.session_at(bars[0].ts)
    assert first is not None
    history = make_history(settings, SESSIONS, downloader=fake, until_ns=first.open)
    close = SESSIONS.session_at(bars[-1].ts).close  # type: ignore[union-attr]
    store = Store(db)
    try:
        service = LiveService(
            settings,
            store,
            SESSIONS,
            lambda skip: ReplayFeed(bars, skip=skip),
            feed_label="test",
            clock_mode="feed",
            last_close=close,
            notifier=notifier,
            history=history,
        )
        anyio.run(service.run)
    finally:
        store.close()
    return service


@pytest.fixture
def logs() -> io.StringIO:
    stream = io.StringIO()
    setup_logging(stream=stream)
    return stream


def logged(db: Path) -> list[object]:
    with Store(db, readonly=True) as store:
        return [event for _, event in store.events_after(0)]


# -- the need --------------------------------------------------------------------------------------


def test_the_warmup_need_comes_from_the_config_not_a_constant():
    config = settings_for(Path(".")).core
    plan = warmup_plan(config, SESSIONS, OPEN)
    # EMA20 / SMA20 on 5m, 15m and 1h: 2 x 20 + 2 kept inputs plus the previous value rules read
    assert plan.bars[max(plan.bars)] == 43 and plan.sessions == 7  # 43 1h bars at 7 a session
    assert plan.start_ns == SESSIONS.sessions[SESSIONS.last_index_at_or_before(OPEN) - 7].open
    data = config_to_dict(config)
    data["validation"]["ema_period"] = 50
    longer = warmup_plan(config_from_dict(data), SESSIONS, OPEN)
    assert longer.sessions == 15 and longer.start_ns < plan.start_ns  # 2 x 50 + 3 = 103 1h bars
    data["validation"]["enabled"] = False
    assert warmup_plan(config_from_dict(data), SESSIONS, OPEN).sessions < plan.sessions


# -- warm-up ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "real",
    [
        pytest.param(False, id="generated"),
        pytest.param(
            True,
            id="real",
            marks=pytest.mark.skipif(
                shared_dir() is None,
                reason="Yahoo's own bars (their volumes, prices and gaps) are in /work/shared only",
            ),
        ),
    ],
)
def test_warmup_from_the_cache_logs_yahoo_bars_warms_the_indicators_and_replays(tmp_path, logs, real):
    cache = tmp_path / "cache"
    market = real_market() if real else MARKET
    online = FakeYahoo(bars=yahoo_bars(market), now_ns=OPEN)
    plan = warmup_plan(settings_for(cache).core, SESSIONS, OPEN)
    filled = YahooHistory(cache, SESSIONS, downloader=online).fetch(
        SYMBOLS, since_ns=plan.start_ns, until_ns=OPEN
    )
    assert filled.problem is None and (cache / "5m" / "AAPL.parquet").is_file()
    offline = FakeYahoo(offline=True)  # the cache covers the need: Yahoo is not asked at all
    notes = Recorder()
    live = list(iter_bars(day_series(LIVE_DAY, market)))
    service = run_day(tmp_path / "live.db", settings_for(cache), offline, live, notes)

    assert offline.calls == []
    events = logged(tmp_path / "live.db")
    bars = [e for e in events if isinstance(e, Bar)]
    first_trade = next(i for i, e in enumerate(events) if isinstance(e, Trade))
    assert bars and all(b.source == "yahoo" for b in bars)
    assert all(plan.start_ns <= b.ts and b.end <= OPEN for b in bars)  # strictly before the live data
    assert max(i for i, e in enumerate(events) if isinstance(e, Bar)) < first_trade
    assert {b.symbol for b in bars} == set(SYMBOLS) and len(bars) == 2 * 78 * plan.sessions
    cached = load_file(cache / "5m" / "MSFT.parquet", symbol="MSFT", source="yahoo")
    msft = [b for b in bars if b.symbol == "MSFT"]
    assert [b.ts for b in msft] == cached.between(plan.start_ns, OPEN).ts.tolist()
    assert [b.volume for b in msft] == cached.between(plan.start_ns, OPEN).volume.tolist()
    pause = next(e for e in events if isinstance(e, Pause))
    resume = next(e for e in events if isinstance(e, Resume))
    assert pause.reason == WARMUP_REASON and events.index(pause) < events.index(bars[0])
    assert events.index(bars[-1]) < events.index(resume) < first_trade
    assert "warm-up done" in logs.getvalue() and notes.sent[0].title == "Trading paused"

    # at the session's first print every indicator is warm, and the volume baseline is Yahoo's own
    state = new_state(service.settings.core, SESSIONS)
    for event in events[:first_trade]:
        state, _ = step(state, event)
    assert not state.risk.paused
    for symbol in SYMBOLS:
        for spec in state.indicators.specs:
            assert state.indicators.value(symbol, spec.key) is not None, (symbol, spec.key)
        assert state.validator.volume_source[symbol][0] == "yahoo"
    # the live day's bars (made from Finnhub prints) start a baseline of their own: never mixed
    final = service.journal.state
    assert final.validator.volume_source["AAPL"] == ["finnhub", 78]

    # a replay of the log reproduces the session exactly (a fresh engine: reading values above
    # fed the indicators' pending batches, which a saved state shows)
    replayed = new_state(service.settings.core, SESSIONS)
    for event in events:
        replayed, _ = step(replayed, event)
    assert save_state(replayed) == save_state(final)


def test_an_offline_start_runs_without_warmup_and_notifies(tmp_path, logs):
    offline = FakeYahoo(offline=True)
    notes = Recorder()
    live = list(iter_bars(day_series(LIVE_DAY)))
    run_day(tmp_path / "live.db", settings_for(tmp_path / "empty"), offline, live, notes)

    assert len(offline.calls) == 2  # data.yahoo_retries
    events = logged(tmp_path / "live.db")
    assert not any(isinstance(e, Bar | Pause) for e in events)
    assert sum(isinstance(e, Trade) for e in events) == 4 * len(live)  # the session ran all the same
    [note] = [n for n in notes.sent if "Warm-up" in n.title]
    assert note.title == "Warm-up skipped: Yahoo unavailable" and note.severity is Severity.WARNING
    assert "Yahoo" in dict(note.fields)["problem"]
    assert "warm-up skipped: yahoo unavailable" in logs.getvalue()


def test_warmup_off_fetches_nothing(tmp_path, logs):
    fake = FakeYahoo(bars=yahoo_bars(), now_ns=OPEN)
    live = list(iter_bars(day_series(LIVE_DAY)))
    run_day(tmp_path / "live.db", settings_for(tmp_path / "c", warmup=False), fake, live, Recorder())
    assert fake.calls == [] and not any(isinstance(e, Bar) for e in logged(tmp_path / "live.db"))
    assert "warm-up off" in logs.getvalue()


# -- Yahoo failing -----------------------------------------------------------------------------------


def test_a_hanging_yahoo_is_retried_with_backoff_then_given_up(tmp_path):
    hang = FakeYahoo(sleep=2.0)
    waits: list[float] = []
    source = YahooHistory(
        tmp_path, SESSIONS, downloader=hang, timeout=0.1, retries=3, backoff=0.5, sleep=waits.append
    )
    got = source.fetch(SYMBOLS, since_ns=OPEN - 86_400 * 10**9, until_ns=OPEN)
    assert got.bars == {} and got.attempts == 3 and waits == [0.5, 1.0]
    assert got.problem is not None and "no answer within 0.1 s" in got.problem


def test_a_failed_attempt_is_retried_and_the_next_one_counts(tmp_path):
    online = FakeYahoo(bars=yahoo_bars(), now_ns=OPEN)
    calls: list[str] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append("call")
        if len(calls) == 1:
            return FakeYahoo(offline=True)(*args, **kwargs)  # an empty frame, as offline yfinance gives
        return online(*args, **kwargs)

    source = YahooHistory(tmp_path, SESSIONS, downloader=flaky, retries=3, backoff=0.0)
    got = source.fetch(SYMBOLS, since_ns=OPEN - 3 * 86_400 * 10**9, until_ns=OPEN)
    assert got.problem is None and got.attempts == 2 and set(got.bars) == set(SYMBOLS)


# -- archive and backfill ----------------------------------------------------------------------------


def silenced(day: dt.date, symbol: str, start: str, end: str) -> list[Bar]:
    """The day's bars with ``symbol`` silent from ``start`` to ``end`` (New York HH:MM)."""
    session = SESSIONS.for_date(day)
    assert session is not None
    lo, hi = session.local_time_ns(start), session.local_time_ns(end)
    return [b for b in iter_bars(day_series(day)) if not (b.symbol == symbol and lo <= b.ts < hi)]


def test_backfill_marks_the_bars_of_a_gap_recovered_in_the_store_and_the_archive(tmp_path, logs):
    cache = tmp_path / "cache"
    fake = FakeYahoo(bars=yahoo_bars())
    live = silenced(LIVE_DAY, "AAPL", "10:00", "10:40")
    notes = Recorder()
    run_day(tmp_path / "live.db", settings_for(cache, warmup=False), fake, live, notes)

    session = SESSIONS.for_date(LIVE_DAY)
    assert session is not None
    yahoo = day_series(LIVE_DAY)["AAPL"]
    # the gap runs from the last print of the 09:55 bar (09:59:59) to the 10:40 bar's first
    expected = yahoo.between(session.local_time_ns("09:55"), session.local_time_ns("10:40"))
    with Store(tmp_path / "live.db", readonly=True) as store:
        rows = store.rows("recovered_bars")
    assert [r["time"] for r in rows] == expected.ts.tolist() and len(rows) == 9
    assert {r["symbol"] for r in rows} == {"AAPL"} and {r["source"] for r in rows} == {"yahoo"}
    assert [r["volume"] for r in rows] == expected.volume.tolist()  # Yahoo's own (consolidated) volume
    assert all(r["gap_start"] < r["gap_end"] for r in rows)
    archived = load_archive(cache, "AAPL", "recovered")
    assert archived is not None and archived.ts.tolist() == expected.ts.tolist()
    assert not archive_path(cache, "MSFT", "recovered").exists()
    assert "backfill done" in logs.getvalue() and not [n for n in notes.sent if "Backfill" in n.title]


def test_a_backfill_without_yahoo_goes_on_and_says_so(tmp_path, logs):
    offline = FakeYahoo(offline=True)
    live = silenced(LIVE_DAY, "MSFT", "13:00", "13:30")
    notes = Recorder()
    run_day(tmp_path / "live.db", settings_for(tmp_path / "c", warmup=False), offline, live, notes)

    assert len(offline.calls) == 2
    with Store(tmp_path / "live.db", readonly=True) as store:
        assert store.rows("recovered_bars") == []
        assert sum(r["kind"] == "Trade" for r in store.rows("events")) == 4 * len(live)
    [note] = [n for n in notes.sent if "Backfill" in n.title]
    assert note.title == "Backfill incomplete: Yahoo unavailable" and dict(note.fields)["gaps"] == "1"
    assert "backfill incomplete" in logs.getvalue()


def test_gaps_from_the_log_drive_the_backfill_by_symbol_start_end(tmp_path, logs):
    live = silenced(LIVE_DAY, "MSFT", "11:00", "11:20")
    run_day(
        tmp_path / "live.db",
        settings_for(tmp_path / "c", warmup=False, backfill_after_seconds=0),
        FakeYahoo(),
        live,
        Recorder(),
    )
    session = SESSIONS.for_date(LIVE_DAY)
    assert session is not None
    gaps = find_gaps(tmp_path / "live.db", session, SYMBOLS, 300)
    [(symbol, start, end)] = gaps
    assert symbol == "MSFT" and start == session.local_time_ns("10:55") + 299 * 10**9
    assert end == session.local_time_ns("11:20")
    assert find_gaps(tmp_path / "live.db", session, SYMBOLS, 30 * 60) == []  # shorter than the limit
    with Store(tmp_path / "live.db") as store:
        assert store.rows("recovered_bars") == []  # backfill_after_seconds: 0 switched it off
        source = YahooHistory(tmp_path / "c", SESSIONS, downloader=FakeYahoo(bars=yahoo_bars()))
        got = backfill(store, source, gaps)
        assert got.problem is None and len(store.rows("recovered_bars")) == 5  # 10:55 .. 11:15


def test_the_archive_appends_the_built_bars_each_day_and_reads_them_back(tmp_path, logs):
    cache = tmp_path / "cache"
    first_day = dt.date(2024, 5, 24)
    for day, db in ((first_day, "one.db"), (LIVE_DAY, "two.db")):
        run_day(
            tmp_path / db,
            settings_for(cache, warmup=False),
            FakeYahoo(),
            list(iter_bars(day_series(day))),
            Recorder(),
        )

    back = load_dir(cache / "5m-finnhub", SYMBOLS, source="finnhub")  # a valid --data folder
    for symbol in SYMBOLS:
        days = [day_series(d)[symbol] for d in (first_day, LIVE_DAY)]
        series = back[symbol]
        assert series.ts.tolist() == days[0].ts.tolist() + days[1].ts.tolist()
        # the prints are the bars' four points, a quarter of the volume each: the same bars back
        for name in ("open", "high", "low", "close", "volume"):
            assert getattr(series, name).tolist() == pytest.approx(
                getattr(days[0], name).tolist() + getattr(days[1], name).tolist()
            )
    assert not (cache / "5m").exists()  # Yahoo's own cache is another folder, never written here
    assert "archived" in logs.getvalue()


def test_a_restart_feeds_no_warmup_bar_twice_and_ends_a_warmup_cut_short(tmp_path, logs):
    cache = tmp_path / "cache"
    fake = FakeYahoo(bars=yahoo_bars(), now_ns=OPEN)
    live = list(iter_bars(day_series(LIVE_DAY)))
    db = tmp_path / "live.db"
    # a warm-up cut short by a crash: its Pause is in the log, its Resume never came
    with Store(db) as store:
        store.append([Pause(ts=OPEN - 10 * 86_400 * 10**9, reason=WARMUP_REASON)])
    run_day(db, settings_for(cache), fake, live, Recorder())
    first = logged(db)
    bars = sum(isinstance(e, Bar) for e in first)
    assert bars and type(first[-1]).__name__ == "Clock"  # the log ends with the close's Clock
    assert sum(isinstance(e, Pause) for e in first) == 1 and sum(isinstance(e, Resume) for e in first) == 1

    service = run_day(db, settings_for(cache), fake, live, Recorder())  # the same store again
    again = logged(db)
    assert sum(isinstance(e, Bar) for e in again) == bars and len(again) == len(first)
    assert not service.journal.state.risk.paused
    assert "warm-up not needed" in logs.getvalue()


def test_sessions_in_the_archive_warm_up_from_the_live_sources_own_bars(tmp_path, logs):
    cache = tmp_path / "cache"
    previous = dt.date(2024, 5, 24)  # the session before the live day, archived by an earlier run
    run_day(
        tmp_path / "one.db",
        settings_for(cache, warmup=False),
        FakeYahoo(),
        list(iter_bars(day_series(previous))),
        Recorder(),
    )
    fake = FakeYahoo(bars=yahoo_bars(), now_ns=OPEN)
    service = run_day(
        tmp_path / "two.db", settings_for(cache), fake, list(iter_bars(day_series(LIVE_DAY))), Recorder()
    )

    events = logged(tmp_path / "two.db")
    bars = [e for e in events if isinstance(e, Bar)]
    day = SESSIONS.for_date(previous)
    assert day is not None
    own = [b for b in bars if b.source == "finnhub"]
    assert own and all(day.open <= b.ts < day.close for b in own) and len(own) == 2 * 78
    assert not any(b.source == "yahoo" and day.open <= b.ts < day.close for b in bars)  # never half and half
    assert all(b.source == "yahoo" for b in bars if b.ts < day.open)
    assert [b.ts for b in bars] == sorted(b.ts for b in bars)
    # the live source's baseline is warm at the open: the archived day and the live day in a row
    assert service.journal.state.validator.volume_source["MSFT"] == ["finnhub", 2 * 78]


def test_the_feed_down_longer_than_the_limit_is_a_gap_of_every_symbol(tmp_path):
    session = SESSIONS.for_date(LIVE_DAY)
    assert session is not None
    minute = 60 * 10**9
    prints = [
        Trade(symbol=s, ts=t, price=100.0, size=1.0)
        for t in range(session.open, session.close, minute)
        for s in SYMBOLS
        if s == "MSFT" or not session.local_time_ns("11:00") < t < session.local_time_ns("11:10")
    ]
    down, up = session.local_time_ns("11:00") + 30 * 10**9, session.local_time_ns("11:10")
    late = session.local_time_ns("15:50")
    with Store(tmp_path / "s.db") as store:
        store.append([FeedStatus(ts=session.open - minute, connected=True)])
        store.append([p for p in prints if p.ts < down])
        store.append([FeedStatus(ts=down, connected=False, reason="closed by server")])
        store.append([p for p in prints if down <= p.ts < up])
        store.append([FeedStatus(ts=up, connected=True)])
        store.append([p for p in prints if p.ts >= up])
        store.append([FeedStatus(ts=late, connected=False, reason="watchdog")])  # never back up
    gaps = find_gaps(tmp_path / "s.db", session, SYMBOLS, 300)
    # AAPL: its own silence (11:00 .. 11:10) merged with the outage; MSFT printed on: the outage only
    assert gaps == [
        ("AAPL", session.local_time_ns("11:00"), up),
        ("AAPL", late, session.close),
        ("MSFT", down, up),
        ("MSFT", late, session.close),
    ]
    assert find_gaps(tmp_path / "s.db", session, SYMBOLS, 600) == []  # nothing longer than 10 min


def test_a_signal_during_a_hanging_warmup_abandons_it(tmp_path, logs):
    hang = FakeYahoo(sleep=5.0)
    settings = settings_for(tmp_path / "c", yahoo_timeout_s=2.0, yahoo_retries=3)
    live = list(iter_bars(day_series(LIVE_DAY)))
    store = Store(tmp_path / "live.db")
    service = LiveService(
        settings,
        store,
        SESSIONS,
        lambda skip: ReplayFeed(live, skip=skip),
        feed_label="test",
        clock_mode="feed",
        history=make_history(settings, SESSIONS, downloader=hang, until_ns=OPEN),
    )

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(service.run)
            while not hang.calls:
                await anyio.sleep(0.01)
            service.stop("test")

    anyio.run(main)
    store.close()
    assert len(hang.calls) == 1  # not the three attempts: the warm-up was left at the first
    assert "stopped" in logs.getvalue() and not any(isinstance(e, Bar) for e in logged(tmp_path / "live.db"))


def test_a_start_in_the_middle_of_a_session_warms_up_through_its_last_complete_bar(tmp_path, logs):
    session = SESSIONS.for_date(LIVE_DAY)
    assert session is not None
    start = session.local_time_ns("11:02") + 30 * 10**9  # the service starts at 11:02:30
    fake = FakeYahoo(bars=yahoo_bars(), now_ns=start)
    settings = settings_for(tmp_path / "c")
    live = [b for b in iter_bars(day_series(LIVE_DAY)) if b.ts >= session.local_time_ns("11:05")]
    store = Store(tmp_path / "live.db")
    service = LiveService(
        settings,
        store,
        SESSIONS,
        lambda skip: ReplayFeed(live, skip=skip),
        feed_label="test",
        clock_mode="feed",
        last_close=session.close,
        history=make_history(settings, SESSIONS, downloader=fake, until_ns=start),
    )
    anyio.run(service.run)
    store.close()
    events = logged(tmp_path / "live.db")
    today = [e for e in events if isinstance(e, Bar) and e.ts >= session.open]
    assert len(fake.calls) == 1 and {b.source for b in today} == {"yahoo"}
    assert max(b.ts for b in today) == session.local_time_ns("10:55")  # the 11:00 bar was still forming
    assert len(today) == 2 * 18  # 09:30 .. 10:55
    replayed = new_state(settings.core, SESSIONS)
    for event in events:
        replayed, _ = step(replayed, event)
    assert save_state(replayed) == save_state(service.journal.state)
    assert service.journal.state.rejected == {}  # no stale bar, no late input refused


def test_a_rate_limited_symbol_is_retried_and_the_others_are_kept(tmp_path):
    limited = FakeYahoo(bars=yahoo_bars(), failing={"MSFT": rate_limit_error()}, now_ns=OPEN)
    source = YahooHistory(tmp_path, SESSIONS, downloader=limited, retries=2, backoff=0.0)
    got = source.fetch(SYMBOLS, since_ns=OPEN - 3 * 86_400 * 10**9, until_ns=OPEN)
    assert len(limited.calls) == 2 and got.problem is not None and "MSFT" in got.problem
    assert set(got.bars) == {"AAPL"} and len(got.bars["AAPL"]) > 0  # what Yahoo did send was kept


def test_damaged_cache_and_archive_files_are_named_and_the_service_goes_on(tmp_path, logs):
    cache = tmp_path / "cache"
    for folder in ("5m", "5m-finnhub"):
        (cache / folder).mkdir(parents=True)
        (cache / folder / "AAPL.parquet").write_bytes(b"not parquet")
    notes = Recorder()
    live = list(iter_bars(day_series(LIVE_DAY)))
    run_day(tmp_path / "live.db", settings_for(cache), FakeYahoo(offline=True), live, notes)

    titles = {n.title: dict(n.fields) for n in notes.sent}
    assert "5m/AAPL.parquet" in titles["Warm-up skipped: Yahoo unavailable"]["problem"]
    assert "5m-finnhub/AAPL.parquet" in titles["Archive and backfill failed"]["error"]
    assert sum(isinstance(e, Trade) for e in logged(tmp_path / "live.db")) == 4 * len(live)
    assert "archive and backfill failed" in logs.getvalue() and "stopped" in logs.getvalue()
