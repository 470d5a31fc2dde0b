"""Cloud sync to a ``file://`` target: copies while the service writes, retention, restore."""

from __future__ import annotations

import datetime as dt
import sqlite3

import anyio
import pytest
from tests.vibe_live.sync_runs import bars, rows, run, settings

from vibe_core.events import Clock
from vibe_live.cli import main
from vibe_live.restore import check_copy, restore
from vibe_live.settings import SyncSettings
from vibe_live.store import Store, StoreError
from vibe_live.sync import Syncer, backup_copy
from vibe_live.sync_target import COPY_NAME, SyncError, copy_name, open_target


@pytest.fixture(scope="module")
def three():
    return bars(3)


def copies_in(folder):
    return sorted(p for p in folder.iterdir() if COPY_NAME.match(p.name))


def test_copies_are_taken_while_the_service_writes_and_the_last_one_at_shutdown(tmp_path, three):
    target = tmp_path / "backups"
    (tmp_path / ".s.db.sync-stale.db").write_bytes(b"left by a killed process")
    config = settings({"url": target.as_uri(), "every_minutes": 0.2 / 60, "keep": 1000})
    service, log = run(tmp_path / "s.db", three, config, speed=40_000.0)
    assert service.sync is not None
    status = service.sync.status
    copies = copies_in(target)
    assert status.failures == 0 and status.copies == len(copies) >= 3, log
    assert status.last_copy == copies[-1].name
    final = rows(tmp_path / "s.db", "events")
    sizes = []
    for copy in copies:
        info = check_copy(copy, copy.name)  # integrity_check ok, a vibe store
        events = rows(copy, "events")
        assert events == final[: len(events)]  # a consistent prefix of the log
        assert info.last_seq == len(events)
        assert all(r[0] <= info.last_seq for r in rows(copy, "fills"))  # read rows only for logged events
        sizes.append(len(events))
    assert sizes == sorted(sizes)
    assert sizes[0] < len(final)  # a periodic copy caught the service half-way
    last = copies[-1]  # the shutdown copy: everything, the final snapshot included
    assert rows(last, "events") == final and rows(last, "trades") == rows(tmp_path / "s.db", "trades")
    synced = [line for line in log.splitlines() if " synced " in line]
    assert len(synced) == len(copies) and "reason=shutdown" in synced[-1] and last.name in synced[-1]
    assert all("reason=periodic" in line for line in synced[:-1])
    with Store(last, readonly=True) as store:
        snap = store.latest_snapshot()
        assert snap is not None and snap[0] == len(final)
    assert not list(tmp_path.glob(".s.db.sync-*"))  # the local temporary copies are gone, stale ones too


def test_only_the_last_n_copies_are_kept(tmp_path, three):
    target = tmp_path / "backups"
    other = target / "other-20240101T000000.000Z.db"  # another store's copy at the same URL
    target.mkdir()
    other.write_bytes(b"x")
    config = settings({"url": target.as_uri(), "every_minutes": 0.2 / 60, "keep": 2})
    service, log = run(tmp_path / "s.db", three, config, speed=40_000.0)
    assert service.sync is not None and service.sync.status.copies > 2, log
    kept = [p.name for p in copies_in(target) if p.name.startswith("s-")]
    assert len(kept) == 2 and kept[-1] == service.sync.status.last_copy
    assert other.exists()  # retention is per store
    assert "sync pruned" in log


def test_a_restore_round_trip_gives_the_store_back(tmp_path, three):
    config = settings({"url": (tmp_path / "b").as_uri(), "every_minutes": 60})
    run(tmp_path / "s.db", three, config)
    fresh = tmp_path / "fresh" / "var" / "vibe.db"  # a new machine: nothing there yet
    done = restore((tmp_path / "b").as_uri(), fresh)
    assert done.replaced is None and done.db == fresh
    for table in ("events", "trades", "fills"):
        assert rows(fresh, table) == rows(tmp_path / "s.db", table)
    with Store(fresh) as store:  # the service opens it and carries on
        assert store.last_seq() == done.info.last_seq == len(rows(tmp_path / "s.db", "events"))
        assert store.integrity_check() == "ok"


def test_a_damaged_copy_is_refused_and_nothing_is_replaced(tmp_path, three, capsys):
    b = tmp_path / "b"
    config = settings({"url": b.as_uri(), "every_minutes": 60})
    run(tmp_path / "s.db", three, config)
    (copy,) = copies_in(b)
    data = bytearray(copy.read_bytes())
    page = 4096
    for i in range(3 * page, 6 * page):  # garbage over a few pages in the middle of the file
        data[i] = 0x5A
    copy.write_bytes(bytes(data))
    target = tmp_path / "t" / "s.db"
    target.parent.mkdir()
    target.write_bytes(b"keep me")
    with pytest.raises(StoreError, match=r"damaged.*nothing replaced"):
        restore(b.as_uri(), target, force=True)
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in target.parent.iterdir()) == ["s.db"]  # no leftovers
    assert main(["restore", "--from", b.as_uri(), "--db", str(target)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and copy.name in err


def test_a_file_that_is_not_a_vibe_store_is_refused(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    conn = sqlite3.connect(b / "x-20240101T000000.000Z.db")
    conn.execute("CREATE TABLE t (a)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a vibe store"):
        restore(b.as_uri(), tmp_path / "x.db")
    (b / "x-20240102T000000.000Z.db").write_bytes(b"hello, not sqlite")
    with pytest.raises(StoreError, match="not a SQLite database"):
        restore(b.as_uri(), tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_restore_refuses_a_store_in_use_or_newer_unless_forced(tmp_path, three, capsys, monkeypatch):
    b = tmp_path / "b"
    run(tmp_path / "s.db", bars(2), settings({"url": b.as_uri(), "every_minutes": 60}))
    run(tmp_path / "s.db", three, settings())  # carries on past the copy (sync off)
    newer = len(rows(tmp_path / "s.db", "events"))
    with Store(tmp_path / "s.db"), pytest.raises(StoreError, match="in use by a running vibe-live"):
        restore(b.as_uri(), tmp_path / "s.db", force=True)
    with pytest.raises(StoreError, match="newer than the copy; give --force"):
        restore(b.as_uri(), tmp_path / "s.db")
    assert len(rows(tmp_path / "s.db", "events")) == newer
    monkeypatch.chdir(tmp_path)
    assert main(["restore", "--from", b.as_uri(), "--db", "s.db", "--force"]) == 0
    assert "the previous store is kept as" in capsys.readouterr().out
    (aside,) = tmp_path.glob("s.db.replaced-*")
    assert len(rows(aside, "events")) == newer
    assert len(rows(tmp_path / "s.db", "events")) < newer
    assert not (tmp_path / "s.db-wal").exists()  # no stale WAL of the old store next to the new one


def test_restore_says_when_there_is_nothing_to_restore(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["restore", "--from", (tmp_path / "none").as_uri(), "--db", "x.db"]) == 2
    assert "no copies of a vibe store there" in capsys.readouterr().err
    assert main(["restore", "--from", "nosuch://bucket/x", "--db", "x.db"]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_a_missing_backend_names_the_extra_to_install(monkeypatch):
    import fsspec

    def missing(*args, **kwargs):
        raise ImportError("Install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    with pytest.raises(SyncError, match=r"vibe-trading\[sync-gcs\]"):
        open_target("gs://bucket/vibe")


def test_copy_names_sort_by_time_and_parse_back():
    t = dt.datetime(2026, 12, 7, 9, 5, 3, 45_000, tzinfo=dt.UTC)
    names = [copy_name("vibe-dev", t + dt.timedelta(milliseconds=k)) for k in (0, 1, 999, 60_000)]
    assert names == sorted(names) and len(set(names)) == 4
    assert names[0] == "vibe-dev-20261207T090503.045Z.db"
    m = COPY_NAME.match(names[0])
    assert m is not None and m["stem"] == "vibe-dev"


def test_an_unwritable_target_fails_the_round_and_the_next_round_succeeds(tmp_path, three):
    db = tmp_path / "s.db"
    run(db, three, settings())
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the folder should be")
    syncer = Syncer(SyncSettings(url=(blocker / "sub").as_uri(), retries=1, retry_backoff_s=0.01), db)
    assert anyio.run(syncer.sync_once, "test") is False
    status = syncer.status
    assert status.failures == 1 and status.retries == 1 and status.copies == 0
    assert status.last_error is not None and "failed 2 times" in status.last_error
    blocker.unlink()
    blocker.mkdir()
    assert anyio.run(syncer.sync_once, "test") is True
    assert syncer.status.copies == 1 and syncer.status.consecutive_failures == 0


def test_backup_copy_is_a_single_self_contained_file(tmp_path, three):
    db = tmp_path / "s.db"
    run(db, three, settings())
    size = backup_copy(db, tmp_path / "c.db")
    assert size == (tmp_path / "c.db").stat().st_size
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert rows(tmp_path / "c.db", "events") == rows(db, "events")


def test_a_periodic_round_with_nothing_new_sends_nothing_and_a_shutdown_round_always_sends(tmp_path, three):
    db = tmp_path / "s.db"
    run(db, three, settings())
    target = tmp_path / "b"
    syncer = Syncer(SyncSettings(url=target.as_uri()), db)
    assert anyio.run(syncer.sync_once, "periodic") and anyio.run(syncer.sync_once, "periodic")
    assert syncer.status.copies == 1 and syncer.status.skipped == 1 and len(copies_in(target)) == 1
    with Store(db) as store:
        store.set_meta("note", "x")  # meta alone is not new state
        assert anyio.run(syncer.sync_once, "periodic") and syncer.status.skipped == 2
        store.append([Clock(ts=three[-1].ts + 1)])
    assert anyio.run(syncer.sync_once, "periodic") and syncer.status.copies == 2
    assert anyio.run(syncer.sync_once, "shutdown") and syncer.status.copies == 3
    assert len(copies_in(target)) == 3


def test_a_full_disk_or_any_other_error_is_a_failed_round_never_an_exception(tmp_path, three, monkeypatch):
    import errno
    import tempfile

    db = tmp_path / "s.db"
    run(db, three, settings())
    syncer = Syncer(SyncSettings(url=(tmp_path / "b").as_uri(), retries=0), db)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    assert anyio.run(syncer.sync_once, "periodic") is False
    assert "No space left on device" in (syncer.status.last_error or "")
    monkeypatch.undo()
    monkeypatch.setattr(Syncer, "_sent", lambda *a: 1 / 0)  # a bug after the upload
    assert anyio.run(syncer.sync_once, "periodic") is False
    assert syncer.status.failures == 2 and "ZeroDivisionError" in (syncer.status.last_error or "")


def test_the_shutdown_copy_is_cut_short_at_the_end_of_the_stop_budget(tmp_path, three, monkeypatch):
    import threading

    from vibe_live.sync_target import Target

    db = tmp_path / "s.db"
    run(db, three, settings())
    release = threading.Event()
    monkeypatch.setattr(Target, "put", lambda self, local, name: release.wait(30))  # a stalled upload
    syncer = Syncer(SyncSettings(url=(tmp_path / "b").as_uri()), db)
    try:
        assert anyio.run(syncer.final, 0.3) is False
    finally:
        release.set()
    assert syncer.status.failures == 1 and "cut short after 0.3 s" in (syncer.status.last_error or "")
    assert anyio.run(syncer.final, 0.0) is False
    assert "no time left" in (syncer.status.last_error or "")
