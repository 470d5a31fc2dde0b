"""The notifier over a real store: items from a replay's records (R multiples from the bracket's stop
leg), switches, re-derivation after a crash without duplicates, and the whole service end to end
(``vibe-live run --replay sample --clock feed`` posting to the fake Discord)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import sqlite3
from pathlib import Path

import anyio
import attrs
import pytest
from tests.fakes.discord_server import FakeDiscord
from tests.vibe_live.live_files import live

from vibe_backtest.api import calendar
from vibe_backtest.data import iter_bars
from vibe_backtest.sample import sample_market
from vibe_core.actions import Notify, TradeClosed
from vibe_core.engine import new_state
from vibe_core.events import FeedStatus
from vibe_core.models import TradeRecord
from vibe_core.snapshot import read_model
from vibe_core.types import ExitReason, Severity, Side
from vibe_live.feeds.replay import ReplayFeed
from vibe_live.logs import setup_logging
from vibe_live.notify import DiscordNotifier, make_notifier
from vibe_live.notify.items import Item
from vibe_live.notify.outbox import HIGH_WATER_KEY
from vibe_live.service import LiveService
from vibe_live.settings import NotificationSettings, Settings
from vibe_live.store import Store

SHORT = ["--set", "data.sample_sessions=10"]
URL = "http://127.0.0.1:9/api/webhooks/1/t"  # never contacted by these tests


@pytest.fixture(scope="module")
def replay_db(tmp_path_factory) -> Path:
    """A 10-session replay's store (notifications off while it ran)."""
    folder = tmp_path_factory.mktemp("replay")
    done = live("run", "--replay", "sample", "--clock", "feed", *SHORT, "--db", "vibe.db", cwd=folder)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder / "vibe.db"


@pytest.fixture
def db(replay_db, tmp_path) -> Path:
    copy = tmp_path / "vibe.db"
    with sqlite3.connect(replay_db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def notifier(db: Path, **changes: object) -> DiscordNotifier:
    settings = attrs.evolve(NotificationSettings(discord_webhook_url=URL), **changes)
    return DiscordNotifier(settings, db, horizon_ns=1 << 62)  # re-derive the whole log


def items(n: DiscordNotifier) -> list[dict]:
    return [json.loads(r[0]) for r in n.outbox.query("SELECT payload FROM outbox ORDER BY id")]


def test_trades_carry_their_r_multiple_from_the_bracket_stop_leg(db):
    with Store(db, readonly=True) as store:
        trades, orders = store.rows("trades"), store.rows("orders")
    assert trades
    n = notifier(db)
    got = {i["key"]: dict(i["fields"]) for i in map(attrs.asdict, n.rederive(0)) if i["kind"] == "trade"}
    assert len(got) == len(trades)
    for t in trades:
        legs = [o for o in orders if o["symbol"] == t["symbol"] and o["tag"] == "stop"
                and t["entry_time"] <= o["time"] <= t["exit_time"]]  # fmt: skip
        stop = legs[0]["stop_price"]
        r = t["pnl"] / (t["qty"] * abs(t["entry_price"] - stop))
        fields = got[f"trade:{t['seq']}:{t['idx']}"]
        assert fields["R"] == f"{r:+.2f} R"
        assert fields["P&L"] == f"{t['pnl']:+,.2f}"
    n.close()


def test_a_trade_without_a_stop_on_record_says_so(db):
    n = notifier(db)
    trade = TradeRecord(symbol="ZZZ", side=Side.BUY, qty=1, entry_time=1, entry_price=10.0, exit_time=2,
                        exit_price=11.0, pnl=1.0, fees=0.0, exit_reason=ExitReason.TARGET)  # fmt: skip
    echo = Notify(ts=2, severity=Severity.INFO, title="echo")
    (item,) = n._from_actions(7, [TradeClosed(trade=trade), echo])
    assert dict(item.fields)["R"] == "n/a (no stop on record)"  # and the core's echo Notify is not sent twice
    n.close()


def test_a_store_new_to_notifications_is_not_back_filled(db):
    n = notifier(db)
    with Store(db, readonly=True) as store:
        last = store.last_seq()
    n.started(seq=last, mode="test", symbols=["AAPL"], resume="new log")
    assert [i["kind"] for i in items(n)] == ["service"]
    assert n.outbox.high_water() == last
    n.close()


def test_a_restart_re_derives_what_the_outbox_missed_and_duplicates_nothing(db):
    with Store(db, readonly=True) as store:
        last = store.last_seq()
        mid = store.rows("trades")[len(store.rows("trades")) // 2]["seq"]
    n = notifier(db)
    n.commit([], seq=0)
    n.started(seq=last, mode="test", symbols=["AAPL"], resume="seq")  # everything after mark 0 (within a day)
    full = [i["key"] for i in items(n) if i["kind"] != "service"]
    assert full and n.outbox.high_water() == last
    # a crash between the journal's commit and the outbox's: the outbox lost the items after `mid`
    with Store(db, readonly=True) as store:
        mid_ts = next(e["ts"] for e in store.rows("events") if e["seq"] == mid)
        closed_after = {f"summary:{s['date']}" for s in store.rows("sessions") if s["close"] > mid_ts}
    after_mid = [
        k for k in full if k in closed_after or (k.split(":")[1].isdigit() and int(k.split(":")[1]) > mid)
    ]
    with sqlite3.connect(db) as conn:
        conn.executemany("DELETE FROM outbox WHERE key = ?", [(k,) for k in after_mid])
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(mid), HIGH_WATER_KEY))
    lost = set(full) - {i["key"] for i in items(n)}
    assert lost and any(k.startswith("trade:") for k in lost)
    n.started(seq=last, mode="test", symbols=["AAPL"], resume="seq")
    again = [i["key"] for i in items(n) if i["kind"] != "service"]
    assert sorted(again) == sorted(full)  # the lost ones are back, none twice (keys are unique)
    n.started(seq=last, mode="test", symbols=["AAPL"], resume="seq")
    assert sorted(i["key"] for i in items(n) if i["kind"] != "service") == sorted(full)
    n.close()


def test_switches_and_min_severity(db):
    n = notifier(db)
    derived = n.rederive(0)
    kinds = {i.kind for i in derived}
    assert {"fill", "trade", "summary", "veto"} <= kinds
    n.commit(derived)
    committed = {i["kind"] for i in items(n)}
    assert "veto" not in committed and {"fill", "trade", "summary"} <= committed  # vetoes off by default
    n.close()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM outbox")
    n = notifier(db, send_fills=False, send_vetoes=True, send_summary=False)
    n.commit(n.rederive(0))
    assert {i["kind"] for i in items(n)} == {"trade", "veto"}
    n.close()
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM outbox")
    n = notifier(db, min_severity="warning")
    n.commit(n.rederive(0))
    assert all(i["severity"] != "info" for i in items(n))
    n.close()


def test_daily_summaries_have_pnl_trades_win_rate_equity_and_the_dashboard(db):
    n = notifier(db, dashboard_url="http://localhost:8000/")
    summaries = [i for i in n.rederive(0) if i.kind == "summary"]
    with Store(db, readonly=True) as store:
        sessions, trades = store.rows("sessions"), store.rows("trades")
    assert len(summaries) == len(sessions)
    for item, s in zip(summaries, sessions, strict=True):
        fields = dict(item.fields)
        day = [t["pnl"] for t in trades if s["open"] <= t["exit_time"] <= s["close"]]
        assert item.key == f"summary:{s['date']}"
        assert fields["trades"] == str(len(day))
        assert fields["equity"] == f"{s['end_equity']:,.2f}"
        if day:
            wins = sum(p > 0 for p in day)
            assert fields["win rate"] == f"{wins / len(day):.0%} ({wins}/{len(day)})"
        assert "(http://localhost:8000/)" in item.description
    n.close()


def test_make_notifier_is_off_unless_both_switches_and_a_webhook(tmp_path):
    Store(tmp_path / "v.db").close()
    on = Settings(
        notifications=NotificationSettings(discord_webhook_url=URL),
        features=attrs.evolve(Settings().features, enable_notifications=True),
    )
    assert make_notifier(Settings(), tmp_path / "v.db") is None  # the feature flag is off by default
    off = attrs.evolve(on, notifications=attrs.evolve(on.notifications, enabled=False))
    assert make_notifier(off, tmp_path / "v.db") is None
    no_url = attrs.evolve(on, notifications=NotificationSettings())
    assert make_notifier(no_url, tmp_path / "v.db") is None
    made = make_notifier(on, tmp_path / "v.db")
    assert made is not None and made.sender.url == "http://127.0.0.1:9/api/v10/webhooks/1/t"
    made.close()


def test_the_service_end_to_end_posts_trades_to_discord(tmp_path):
    server = FakeDiscord().start()  # Discord's own numbers: 5 per 2 s
    try:
        done = live(
            "run", "--replay", "sample", "--clock", "feed", *SHORT, "--db", "vibe.db",
            cwd=tmp_path,
            VIBE__FEATURES__ENABLE_NOTIFICATIONS="true",
            VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL=server.url("42/secret"),
            VIBE__NOTIFICATIONS__DASHBOARD_URL="http://localhost:8000/",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert "secret" not in done.stderr
        with Store(tmp_path / "vibe.db", readonly=True) as store:
            trades = store.rows("trades")
        texts, titles = [], []
        for message in server.messages("42"):
            for embed in message["body"]["embeds"]:
                titles.append(embed.get("title", ""))
                texts += [titles[-1]] + [f["name"] for f in embed.get("fields", [])]
        closed = [t for t in texts if " closed: " in t]
        assert trades and len(closed) == len(trades)
        assert titles[0] == "vibe started" and titles[-1] == "vibe stopped"
        assert sum(t.startswith("Daily summary") for t in texts) == 10
        assert server.over_limit == 0 and all(r.status == 200 for r in server.requests)
        assert {r.version for r in server.requests} == {10}
        with sqlite3.connect(tmp_path / "vibe.db") as conn:
            pending = conn.execute("SELECT count(*) FROM outbox WHERE sent IS NULL").fetchone()[0]
        assert pending == 0
    finally:
        server.stop()


def test_feed_down_then_up_and_a_long_outage_is_an_urgent_critical(db):
    n = notifier(db, feed_down_critical_minutes=0.01)  # 0.6 s
    view = read_model(new_state(Settings().core, calendar()))
    n.record([(5, FeedStatus(ts=10, connected=False, reason="closed by server"), [])], view, None)

    async def main() -> None:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(n._watchdog)
                while not n.outbox.has("feed:down-long:5"):
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()

    anyio.run(main)
    n.record([(6, FeedStatus(ts=20, connected=True, reason="reconnected"), [])], view, None)
    got = {i["key"]: i for i in items(n)}
    assert got["feed:5"]["title"] == "Feed down" and got["feed:5"]["description"] == "closed by server"
    assert got["feed:down-long:5"]["urgent"] and got["feed:down-long:5"]["severity"] == "critical"
    assert got["feed:6"]["title"] == "Feed up"
    assert n.outbox.high_water() == 6
    n.close()


class _Broken(ReplayFeed):
    async def frames(self):  # type: ignore[override]
        count = 0
        async for frame in super().frames():
            yield frame
            count += 1
            if count == 50:
                raise RuntimeError("the feed broke")


def test_a_fatal_error_is_sent_before_it_propagates(tmp_path):
    server = FakeDiscord().start()
    try:
        setup_logging(stream=io.StringIO())
        settings = Settings()
        settings = attrs.evolve(
            settings,
            core=attrs.evolve(settings.core, symbols=("AAPL",)),
            features=attrs.evolve(settings.features, enable_notifications=True),
            notifications=NotificationSettings(discord_webhook_url=server.url("7/t")),
        )
        market = sample_market(["AAPL"], sessions=calendar(), n_sessions=1, end=dt.date(2024, 7, 25))
        bars = list(iter_bars(market))
        store = Store(tmp_path / "v.db")
        n = make_notifier(settings, store.path)
        service = LiveService(
            settings, store, calendar(), lambda skip: _Broken(bars, skip=skip), feed_label="t",
            clock_mode="feed", notifier=n,
        )  # fmt: skip
        with pytest.raises(BaseExceptionGroup) as raised:
            anyio.run(service.run)
        assert raised.group_contains(RuntimeError, match="the feed broke")
        titles = [e.get("title") for m in server.messages("7") for e in m["body"]["embeds"]]
        assert titles[0] == "vibe started" and titles[-1] == "vibe stopped on an error"
        error = server.messages("7")[-1]["body"]["embeds"][-1]
        assert "the feed broke" in error["description"]
        assert n is not None
        n.close()
        store.close()
    finally:
        server.stop()


def test_drain_at_shutdown_is_bounded_by_its_grace_and_keeps_what_is_left(db):
    server = FakeDiscord(hold_after=0).start()  # Discord hangs
    try:
        settings = NotificationSettings(discord_webhook_url=server.url())
        n = DiscordNotifier(settings, db, request_timeout_s=0.3)
        assert (
            n.commit([Item(key="halt:1:0", kind="halt", severity="critical", title="HALT", urgent=True)]) == 1
        )

        async def main() -> int:
            with anyio.fail_after(10):
                return await n.drain(0.5)

        assert anyio.run(main) == 1
        assert n.outbox.counts()["pending"] == 1
        n.close()
    finally:
        server.release()
        server.stop()


def test_a_notification_problem_is_logged_never_raised_into_the_service(db, caplog):
    n = notifier(db)
    n.outbox.close()  # every commit now fails
    view = read_model(new_state(Settings().core, calendar()))
    with caplog.at_level(logging.ERROR, logger="vibe_live"):
        n.record([(5, FeedStatus(ts=10, connected=False, reason="x"), [])], view, None)
        n.stopped(reason="test", seq=5, view=view)
        assert anyio.run(n.drain, 0.1) == -1
    events = [getattr(r, "event", "") for r in caplog.records]
    assert events.count("notification not committed") == 2 and "notifications not drained" in events


def test_the_shells_own_notices_are_committed_once(db):
    """The history keeper's notices (Yahoo unavailable...) go through the outbox, keyed by time and
    title: the same notice said again (a restart at the same feed time) is one message."""
    from vibe_core.actions import Notify
    from vibe_core.types import Severity

    n = notifier(db)
    notice = Notify(ts=1_000, severity=Severity.WARNING, title="Warm-up skipped: Yahoo unavailable",
                    fields=(("problem", "offline"),))  # fmt: skip
    n.notice(notice)
    n.notice(notice)
    n.notice(Notify(ts=2_000, severity=Severity.CRITICAL, title="Backfill incomplete"))
    got = [i for i in items(n) if i["kind"] == "notice"]
    assert [(i["key"], i["title"], i["urgent"]) for i in got] == [
        ("shell:1000:Warm-up skipped: Yahoo unavailable", "Warm-up skipped: Yahoo unavailable", False),
        ("shell:2000:Backfill incomplete", "Backfill incomplete", True),
    ]
    assert got[0]["fields"] == [["problem", "offline"]]
    n.close()
