"""The service on the Finnhub client, beyond faults: extended-hours prints are logged and change
nothing (no session bar, no mark, no order), a server that refuses subscriptions has them named, and
``vibe-live run`` refuses a live start it cannot make (no key, too many symbols) with exit 2."""

from __future__ import annotations

from tests.fakes.finnhub_server import FakeFinnhub, trade_message
from tests.vibe_live.finnhub_run import run_live, sample_frames, texts
from tests.vibe_live.live_files import live

from vibe_backtest.api import calendar
from vibe_core.events import Trade
from vibe_live.store import Store

HOUR = 3600 * 10**9


def with_extended_hours(frames: list[list[Trade]]) -> tuple[list[list[Trade]], int]:
    """``frames`` plus, each day, AAPL prints at 08:00 and 17:00 New York (off the session's prices)."""
    sessions = calendar()
    out: list[list[Trade]] = []
    added = last_close = 0
    day = None
    for frame in frames:
        session = sessions.session_at(frame[0].ts)
        if session is not None and session.date != day:
            if day is not None:
                out.append([Trade(symbol="AAPL", ts=last_close + 1 * HOUR, price=999.0, size=5.0)])
                added += 1
            day, last_close = session.date, session.close
            out.append([Trade(symbol="AAPL", ts=session.open - 90 * 60 * 10**9, price=1.0, size=5.0)])
            added += 1
        out.append(frame)
    out.append([Trade(symbol="AAPL", ts=last_close + 1 * HOUR, price=999.0, size=5.0)])
    return out, added + 1


def test_extended_hours_prints_are_logged_and_make_no_bar_mark_or_order(tmp_path):
    regular = sample_frames(sessions=5)
    extended, added = with_extended_hours(regular)
    tables = {}
    for name, frames in (("regular", regular), ("extended", extended)):
        with FakeFinnhub(texts(frames)) as server:
            run = run_live(tmp_path, server, db=f"{name}.db")
            assert run.prints() == server.delivered_prints()  # logged, every one
        state = run.service.journal.state
        with Store(tmp_path / f"{name}.db", readonly=True) as store:
            rows = [[_unkeyed(r) for r in store.rows(t)] for t in ("signals", "orders", "fills", "equity")]
        tables[name] = (state.bars.outside_session, *rows)
    assert tables["extended"][0] == added and tables["regular"][0] == 0
    assert len(tables["regular"][1]) > 0  # signals were taken: the comparison is not vacuous
    # the last 17:00 print processes the last session's close (the regular feed never gets that far)
    last_close = calendar().session_at(regular[-1][-1].ts).close
    assert tables["extended"][4][-1]["time"] == last_close
    tables["extended"][4].pop()
    assert tables["extended"][1:] == tables["regular"][1:]


def _unkeyed(row: dict) -> dict:
    """A read row without its log position (the extended-hours prints shift every later seq)."""
    return {k: v for k, v in row.items() if k not in ("seq", "idx")}


def test_subscriptions_the_server_refuses_are_named(tmp_path):
    with FakeFinnhub(texts(sample_frames())[:50], max_symbols=2) as server:
        run = run_live(tmp_path, server, symbols=("AAPL", "MSFT", "NVDA"))
    assert run.feed.refused == ("NVDA",)
    assert run.feed.health.faults["too many symbols"] == 1
    assert "Finnhub refused subscriptions: too many symbols for this key refused=NVDA" in run.logs


def test_live_start_refusals_exit_2(tmp_path):
    no_key = live("run", "--db", "x.db", cwd=tmp_path)
    assert no_key.returncode == 2
    assert "FINNHUB_API_KEY" in no_key.stderr and "--replay sample" in no_key.stderr
    many = live(
        "run", "--symbols", "AAPL,MSFT,NVDA", "--set", "data.max_symbols=2", cwd=tmp_path,
        VIBE__DATA__FINNHUB_API_KEY="k",
    )  # fmt: skip
    assert many.returncode == 2 and "3 symbols" in many.stderr and "data.max_symbols=2" in many.stderr
    speed = live("run", "--speed", "10", cwd=tmp_path, VIBE__DATA__FINNHUB_API_KEY="k")
    assert speed.returncode == 2 and "--speed" in speed.stderr
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "var").exists()  # nothing opened


def test_trade_conditions_are_logged_with_their_prints(tmp_path):
    frames = sample_frames()[:30]
    with FakeFinnhub([trade_message(f, conditions=("1", str(i))) for i, f in enumerate(frames)]) as server:
        run_live(tmp_path, server)
    with Store(tmp_path / "live.db", readonly=True) as store:
        events = {r["seq"]: r for r in store.rows("events")}
        codes = store.rows("print_conditions")
    assert len(codes) == sum(len(f) for f in frames)
    by_ts = {f[0].ts: i for i, f in enumerate(frames)}
    for row in codes:
        event = events[row["seq"]]
        assert event["kind"] == "Trade"
        assert row["codes"] == f'["1","{by_ts[event["ts"]]}"]'


class Fixed:
    """A wall clock stopped at ``ts``."""

    def __init__(self, ts: int) -> None:
        self.ts = ts

    def now(self) -> int:
        return self.ts

    def seconds_until(self, ts: int) -> float:
        return (ts - self.ts) / 1e9


def test_with_the_wall_clock_a_status_carries_the_wall_time_never_before_the_cores_time(tmp_path):
    frames = sample_frames()[100:160]  # about 12:00 to 12:25
    start = frames[0][0].ts - 10**9
    with FakeFinnhub(texts(frames), faults={40: ["drop"]}) as server:
        run = run_live(tmp_path, server, clock=Fixed(start))
        assert run.prints() == server.delivered_prints()
    events = run.events
    assert (
        events[0]["kind"] == "Clock" and events[0]["ts"] == start
    )  # a fresh live log starts at the wall time
    up, down, again = run.kinds("FeedStatus")
    assert up["ts"] == start  # the wall time
    before = next(e for e in reversed(events) if e["seq"] < down["seq"])
    assert down["ts"] == again["ts"] == before["ts"] > start  # the core's time when the wall clock is behind


def test_a_restarted_service_resumes_its_log_and_just_connects(tmp_path):
    frames = sample_frames()
    with FakeFinnhub(texts(frames)) as server:
        first = run_live(tmp_path, server, expect=100)  # stopped early: what it had not logged is lost
        n = len(first.prints())

        def all_delivered_logged(service):
            rest = sum(len(f) for f in frames[server.starts[-1] :]) if len(server.starts) > 1 else -1
            return server.next == len(frames) and service.prints == n + rest

        second = run_live(tmp_path, server, expect=all_delivered_logged)  # the same --db: recovers, connects
        delivered = server.delivered_prints()
        resumed = server.starts[-1]
    assert second.service.resumed_at == first.events[-1]["seq"] and second.service.prints >= n
    assert second.prints()[:n] == first.prints()  # the first run's log, kept
    after = [p for f in frames[resumed:] for p in ((t.symbol, t.ts, t.price, t.size) for t in f)]
    assert second.prints()[n:] == after == delivered[len(delivered) - len(after) :]  # nothing skipped
    assert [e["payload"]["reason"] for e in second.kinds("FeedStatus")] == ["connected", "connected"]
