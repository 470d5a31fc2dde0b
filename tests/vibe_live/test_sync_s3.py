"""Cloud sync to S3 (s3fs) against a local S3-compatible server: moto's server mode on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from tests.vibe_live.sync_runs import bars, rows, run, settings

from vibe_live.cli import main
from vibe_live.restore import check_copy, restore
from vibe_live.sync_target import COPY_NAME, open_target

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

BUCKET = "vibe-backups"


@pytest.fixture(scope="module")
def endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch, request):
    """An empty folder in the bucket (credentials from the environment, as in production)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return fs, f"s3://{BUCKET}/{request.node.name}"


@pytest.fixture(scope="module")
def three():
    return bars(3)


def listed(fs, url):
    prefix = url.removeprefix("s3://")
    fs.invalidate_cache()
    names = (p.rsplit("/", 1)[-1] for p in fs.ls(prefix, detail=False))
    return sorted(n for n in names if COPY_NAME.match(n))


def test_copies_reach_s3_while_the_service_writes_and_old_ones_are_deleted(tmp_path, s3, endpoint, three):
    fs, url = s3
    config = settings({"url": url, "endpoint_url": endpoint, "every_minutes": 0.2 / 60, "keep": 2})
    service, log = run(tmp_path / "s.db", three, config, speed=40_000.0)
    assert service.sync is not None
    status = service.sync.status
    names = listed(fs, url)
    assert status.failures == 0 and status.copies > 2, log
    assert len(names) == 2 and names[-1] == status.last_copy  # retention: the newest two
    final = rows(tmp_path / "s.db", "events")
    fs.get_file(f"{url.removeprefix('s3://')}/{names[-1]}", str(tmp_path / "last.db"))
    check_copy(tmp_path / "last.db", names[-1])
    assert rows(tmp_path / "last.db", "events") == final  # the shutdown copy is the whole log
    fs.get_file(f"{url.removeprefix('s3://')}/{names[0]}", str(tmp_path / "before.db"))
    before = rows(tmp_path / "before.db", "events")
    assert before == final[: len(before)]


def test_restore_from_s3_on_a_fresh_machine(tmp_path, s3, endpoint, three, monkeypatch, capsys):
    _, url = s3
    run(tmp_path / "s.db", three, settings({"url": url, "endpoint_url": endpoint, "every_minutes": 60}))
    fresh = tmp_path / "new-vm"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    monkeypatch.setenv("VIBE__SYNC__ENDPOINT_URL", endpoint)
    monkeypatch.setenv("VIBE__STORAGE__DB", "var/vibe.db")
    assert main(["restore", "--from", url, "--db", "var/s.db"]) == 0, capsys.readouterr().err
    assert "restored s3://" in capsys.readouterr().out
    for table in ("events", "trades"):
        assert rows(fresh / "var" / "s.db", table) == rows(tmp_path / "s.db", table)
    done = restore(url, tmp_path / "again.db", endpoint_url=endpoint)  # the URL of one copy works too
    one = done.source
    assert restore(one, tmp_path / "one.db", endpoint_url=endpoint).info == done.info


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_target_never_stops_trading(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    data = bars(8)
    run(tmp_path / "ref.db", data, settings())
    dead = f"http://127.0.0.1:{closed_port()}"
    config = settings(
        {"url": "s3://nowhere/vibe", "endpoint_url": dead, "every_minutes": 0.05 / 60, "retries": 1}
    )
    service, log = run(tmp_path / "s.db", data, config)
    trades = rows(tmp_path / "s.db", "trades")
    assert trades and trades == rows(tmp_path / "ref.db", "trades")  # the same trades
    assert rows(tmp_path / "s.db", "events") == rows(tmp_path / "ref.db", "events")
    assert "replay finished" in log and "stopped" in log.splitlines()[-1]
    assert service.sync is not None
    status = service.sync.status
    assert status.copies == 0 and status.failures >= 1 and status.retries >= 1
    assert status.last_error is not None and "failed 2 times" in status.last_error
    failed = [line for line in log.splitlines() if "sync failed" in line]
    assert failed and "reason=shutdown" in failed[-1]
    assert not list(tmp_path.glob(".s.db.sync-*"))


def test_the_doctor_probe_writes_and_deletes_at_s3(s3, endpoint):
    fs, url = s3
    target = open_target(url, endpoint)
    name = target.probe()
    assert name.startswith(".vibe-doctor-probe-")
    fs.invalidate_cache()
    assert not fs.exists(f"{url.removeprefix('s3://')}/{name}")
