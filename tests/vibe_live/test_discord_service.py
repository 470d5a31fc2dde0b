"""Notifications across a service's life on real processes: SIGTERM mid-session of a wall-clock replay
sends the close-all and the stop (drained before exit 0), and a restart that finishes the replay
sends the rest; over both runs every closed trade is posted exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

from tests.fakes.discord_server import FakeDiscord
from tests.vibe_live.live_files import env, live
from tests.vibe_live.test_shutdown import SHORT, wait_for

from vibe_live.store import Store


def _texts(server: FakeDiscord, webhook: str) -> list[str]:
    out = []
    for message in server.messages(webhook):
        for embed in message["body"]["embeds"]:
            out.append(embed.get("title", ""))
            out += [f["name"] for f in embed.get("fields", [])]
    return out


def test_sigterm_drains_the_stop_and_a_restart_posts_the_rest_exactly_once(tmp_path):
    server = FakeDiscord().start()
    extra = {
        "VIBE__FEATURES__ENABLE_NOTIFICATIONS": "true",
        "VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL": server.url("77/t"),
        "VIBE__NOTIFICATIONS__COALESCE_MS": "300",
    }
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "vibe_live.cli", "run", "--replay", "sample", *SHORT, "--db", "s.db",
             "--speed", "1200", "--log-format", "json"],
            cwd=tmp_path, env=env(**extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for(child, '"tag": "entry"')
        child.send_signal(signal.SIGTERM)
        err = child.communicate(timeout=15)[1]
        assert child.returncode == 0, err[-2000:]
        events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
        assert "notifications left in the outbox" not in events
        first = server.messages("77")
        stop = first[-1]["body"]["embeds"][-1]
        assert stop["title"] == "vibe stopped"
        assert {"name": "reason", "value": "SIGTERM", "inline": True} in stop["fields"]
        assert "Close all" in _texts(server, "77")

        done = live(
            "run", "--replay", "sample", *SHORT, "--db", "s.db", "--clock", "feed", cwd=tmp_path, **extra
        )
        assert done.returncode == 0, done.stderr[-2000:]
        texts = _texts(server, "77")
        assert texts.count("vibe started") == 2 and texts.count("vibe stopped") == 2
        with Store(tmp_path / "s.db", readonly=True) as store:
            trades = store.rows("trades")
            sessions = store.rows("sessions")
        assert trades and len([t for t in texts if " closed: " in t]) == len(trades)
        summaries = [t for t in texts if t.startswith("Daily summary")]
        assert len(summaries) == len(sessions) == len(set(summaries))
        with sqlite3.connect(tmp_path / "s.db") as conn:
            keys = [k for (k,) in conn.execute("SELECT key FROM outbox")]
            pending = conn.execute("SELECT count(*) FROM outbox WHERE sent IS NULL").fetchone()[0]
        assert len(keys) == len(set(keys)) and pending == 0
        assert server.over_limit == 0
    finally:
        server.stop()
