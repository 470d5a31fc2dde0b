"""The notifier over a real store: items from a replay's records (R multiples from the bracket's stop
leg), switches, re-derivation after a crash without duplicates, and the whole service end to end
(``vibe-live run --replay sample --clock feed`` posting to the fake Discord)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import attrs
import pytest
from tests.fakes.discord_server import FakeDiscord
from tests.vibe_live.live_files import live

from vibe_core.actions import Notify, TradeClosed
from vibe_core.models import TradeRecord
from vibe_core.types import ExitReason, Severity, Side
from vibe_live.notify import DiscordNotifier, make_notifier
from vibe_live.notify.outbox import HIGH_WATER_KEY
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
