"""``vibe-live doctor`` against real local servers: a WebSocket server that checks the key at the
handshake as Finnhub does (401), and an HTTP server answering a webhook GET as Discord does."""

from __future__ import annotations

import email.utils
import http.server
import json
import os
import re
import socket
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
from websockets.sync.server import serve

from vibe_live.cli import main
from vibe_live.store import Store
from vibe_live.store_schema import SCHEMA_VERSION

KEY = "good-finnhub-key-123"
HOOK = "/api/webhooks/111/hook-token-xyz"


@pytest.fixture
def finnhub():
    """ws://127.0.0.1:PORT: the handshake answers 101 for ``?token=KEY``, 401 otherwise."""

    def check(connection, request):
        token = parse_qs(urlparse(request.path).query).get("token", [""])[0]
        return None if token == KEY else connection.respond(401, "Unauthorized\n")

    def handler(ws):
        for _ in ws:
            pass

    server = serve(handler, "127.0.0.1", 0, process_request=check)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()
    thread.join(5)


class _Discord(http.server.BaseHTTPRequestHandler):
    """GET on a webhook URL: 200 and the webhook object, or 404 Unknown Webhook (code 10015)."""

    skew = 0.0  #: seconds added to the Date header (a server whose clock differs from ours)

    def do_GET(self) -> None:
        if self.path == HOOK:
            code, body = 200, {"type": 1, "id": "111", "name": "vibe", "channel_id": "222", "token": "x"}
        else:
            code, body = 404, {"message": "Unknown Webhook", "code": 10015}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(time.time() + self.skew, usegmt=True)

    def log_message(self, *args: object) -> None:
        pass


def http_server(skew: float = 0.0):
    handler = type("Discord", (_Discord,), {"skew": skew})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def discord():
    server = http_server()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(tmp_path, monkeypatch, finnhub, discord):
    """A working directory with a good deployment: keys in the environment, local servers."""
    for name in list(os.environ):
        if name.startswith("VIBE__") or name in ("FINNHUB_API_KEY", "TRADING_ENV"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIBE__DATA__FINNHUB_API_KEY", KEY)
    monkeypatch.setenv("VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL", discord + HOOK)
    monkeypatch.setenv("VIBE__API__API_KEY", "api-key-456")
    return [
        "--set", f"data.finnhub_url={finnhub}",
        "--set", "storage.db=var/vibe.db",
        "--set", "features.enable_cloud_sync=true",
        "--set", f"sync.url={(tmp_path / 'backups').as_uri()}",
        "--set", "features.enable_notifications=true",
        "--set", "api.enable_auth=true",
        "--timeout", "5",
    ]  # fmt: skip


def doctor(capsys, *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    code = main(["doctor", *args])
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines()[:-1]:
        verdict, name, detail = line.split(None, 2)
        lines[name] = (verdict, detail)
    return code, lines, out


def test_a_good_deployment_passes_every_check(site, capsys, tmp_path):
    code, lines, out = doctor(capsys, *site)
    assert code == 0, out
    assert list(lines) == ["config", "db", "api", "finnhub", "discord", "sync", "clock"]
    assert all(verdict == "OK" for verdict, _ in lines.values()), out
    assert out.endswith("doctor: all checks passed\n")
    assert "handshake answered" in lines["finnhub"][1]
    assert "'vibe'" in lines["discord"][1] and "222" in lines["discord"][1]
    assert "wrote and deleted a probe" in lines["sync"][1]
    assert list((tmp_path / "backups").iterdir()) == []  # the probe is gone
    assert "New York" in lines["clock"][1] and "NYSE" in lines["clock"][1]
    # (the larger skew of the two HTTP Dates is named; whole seconds make either the larger)
    assert re.search(r"within 5 s of (finnhub|discord)'s Date \([+-]\d\.\d s\)", lines["clock"][1])
    for secret in (KEY, "hook-token-xyz", "api-key-456"):
        assert secret not in out


def test_an_existing_store_is_described_and_one_in_use_is_reported(site, capsys, tmp_path):
    (tmp_path / "var").mkdir()
    with Store(tmp_path / "var" / "vibe.db"):
        code, lines, out = doctor(capsys, *site)
    assert code == 0, out
    assert f"vibe store, schema {SCHEMA_VERSION}, 0 events" in lines["db"][1] and "in use" in lines["db"][1]


def test_a_refused_key_a_deleted_webhook_and_an_unwritable_target_fail(site, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("VIBE__DATA__FINNHUB_API_KEY", "sandbox-key")
    webhook = os.environ["VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL"]
    monkeypatch.setenv("VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL", webhook.replace("111", "999"))
    (tmp_path / "blocked").write_text("a file where the folder should be")
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "vibe.db").write_text("not a database")
    code, lines, out = doctor(capsys, *site, "--set", f"sync.url={(tmp_path / 'blocked' / 'x').as_uri()}")
    assert code == 1
    assert lines["finnhub"][0] == "FAIL" and "key is refused (HTTP 401" in lines["finnhub"][1]
    assert lines["discord"][0] == "FAIL" and "HTTP 404" in lines["discord"][1]
    assert lines["sync"][0] == "FAIL" and "blocked" in lines["sync"][1]
    assert lines["db"][0] == "FAIL" and "not a SQLite database" in lines["db"][1]
    assert lines["config"][0] == lines["api"][0] == lines["clock"][0] == "OK"
    assert out.endswith("doctor: 4 of 7 checks failed\n")
    assert "sandbox-key" not in out


def test_missing_secrets_fail_with_the_variable_to_set(site, capsys, monkeypatch):
    for name in ("DATA__FINNHUB_API_KEY", "NOTIFICATIONS__DISCORD_WEBHOOK_URL", "API__API_KEY"):
        monkeypatch.delenv(f"VIBE__{name}")
    code, lines, _ = doctor(capsys, *site)
    assert code == 1
    assert lines["finnhub"][0] == "FAIL"
    assert "no key: set FINNHUB_API_KEY or VIBE__DATA__FINNHUB_API_KEY" in lines["finnhub"][1]
    assert "VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL" in lines["discord"][1]
    assert lines["api"][0] == "FAIL" and "VIBE__API__API_KEY" in lines["api"][1]


def test_an_api_open_to_the_network_without_auth_fails(site, capsys):
    code, lines, _ = doctor(capsys, *site, "--set", "api.enable_auth=false", "--set", "api.host=0.0.0.0")
    assert code == 1 and lines["api"][0] == "FAIL" and "without auth" in lines["api"][1]


def test_nothing_listening_at_the_finnhub_url_fails(site, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, lines, _ = doctor(capsys, *site, "--set", f"data.finnhub_url=ws://127.0.0.1:{port}")
    assert code == 1 and lines["finnhub"][0] == "FAIL" and "cannot connect" in lines["finnhub"][1]


def test_a_clock_far_from_an_http_date_fails(site, capsys, monkeypatch):
    server = http_server(skew=-3600.0)  # their clock an hour behind ours: ours is an hour fast
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}{HOOK}"
        monkeypatch.setenv("VIBE__NOTIFICATIONS__DISCORD_WEBHOOK_URL", hook)
        code, lines, _ = doctor(capsys, *site)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1 and lines["clock"][0] == "FAIL"
    # (a Date header has whole seconds: one more may pass between reading it and our clock)
    offset = re.search(r"this clock is ([+-][\d.]+) s off discord", lines["clock"][1])
    assert offset is not None and 3599.0 <= float(offset[1]) <= 3602.0, lines["clock"][1]


def test_skipped_checks_say_so_and_offline_the_clock_is_reported(site, capsys):
    code, lines, _ = doctor(
        capsys, *site, "--skip", "finnhub", "--skip", "discord", "--set", "features.enable_cloud_sync=false"
    )
    assert code == 0
    assert lines["finnhub"] == ("SKIP", "skipped (--skip)") and lines["discord"][0] == "SKIP"
    assert lines["sync"] == ("SKIP", "features.enable_cloud_sync is off")
    assert lines["clock"][0] == "OK" and "reported only" in lines["clock"][1]


def test_a_foreign_or_newer_store_fails(site, capsys, tmp_path):
    import sqlite3

    (tmp_path / "var").mkdir()
    conn = sqlite3.connect(tmp_path / "var" / "vibe.db")
    conn.execute("CREATE TABLE notes (a)")
    conn.commit()
    _, lines, _ = doctor(capsys, *site)
    assert lines["db"][0] == "FAIL" and "not a vibe store" in lines["db"][1]
    conn.execute("DROP TABLE notes")
    conn.execute(f"PRAGMA application_id = {int.from_bytes(b'vibe', 'big')}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    _, lines, _ = doctor(capsys, *site)
    assert lines["db"][0] == "FAIL" and "written by a newer vibe" in lines["db"][1]


def test_a_config_that_does_not_load_fails_and_the_rest_is_skipped(site, capsys):
    code, lines, out = doctor(capsys, *site, "--set", "storage.dbx=1")
    assert code == 1
    assert lines["config"][0] == "FAIL" and "storage.dbx: unknown key" in lines["config"][1]
    assert all(verdict == "SKIP" for name, (verdict, _) in lines.items() if name != "config"), out


def test_an_unknown_check_to_skip_is_bad_input(site, capsys):
    assert main(["doctor", "--skip", "nosuch"]) == 2
    assert "--skip nosuch: unknown check" in capsys.readouterr().err
