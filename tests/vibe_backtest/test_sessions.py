"""The session table kept on disk: read back equal, rebuilt when missing, damaged or stale."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from vibe_backtest import sessions as mod
from vibe_backtest.sessions import build_nyse_calendar, nyse_calendar

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def built():
    return build_nyse_calendar()


def test_first_call_builds_and_keeps_then_reads_back_equal(tmp_path, monkeypatch, built):
    first = nyse_calendar(tmp_path, today=TODAY)
    assert first == built
    files = list((tmp_path / "sessions").glob("xnys-*.json"))
    assert len(files) == 1 and TODAY.isoformat() in files[0].name

    def no_build():
        raise AssertionError("built again although today's file is there")

    monkeypatch.setattr(mod, "build_nyse_calendar", no_build)
    again = nyse_calendar(tmp_path, today=TODAY)
    assert again == built
    assert [s.early_close for s in again.sessions] == [s.early_close for s in built.sessions]


DAMAGE = ["", "not json", "[]", "[[1, 2]]", '[["2024-01-02", "x", 1]]', '[["2024-01-02", 2, 1]]']


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_file_is_rebuilt_and_replaced(tmp_path, built, damage):
    nyse_calendar(tmp_path, today=TODAY)
    (path,) = (tmp_path / "sessions").glob("xnys-*.json")
    path.write_text(damage)
    assert nyse_calendar(tmp_path, today=TODAY) == built
    assert len(json.loads(path.read_text())) == len(built.sessions)


def test_a_new_day_rebuilds_and_drops_the_old_file(tmp_path, built):
    nyse_calendar(tmp_path, today=TODAY)
    nyse_calendar(tmp_path, today=TODAY + dt.timedelta(days=1))
    names = [p.name for p in (tmp_path / "sessions").glob("xnys-*.json")]
    assert len(names) == 1 and (TODAY + dt.timedelta(days=1)).isoformat() in names[0]


def test_an_unwritable_cache_still_gives_the_table(tmp_path, built):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    assert nyse_calendar(blocker, today=TODAY) == built


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VIBE_CACHE_DIR", str(tmp_path / "own"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mod.cache_root() == tmp_path / "own"
    monkeypatch.delenv("VIBE_CACHE_DIR")
    assert mod.cache_root() == tmp_path / "xdg" / "vibe"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mod.cache_root().parts[-2:] == (".cache", "vibe")


def test_the_file_is_keyed_by_the_installed_exchange_calendars_version(tmp_path):
    from importlib.metadata import version

    nyse_calendar(tmp_path, today=TODAY)
    (kept,) = (tmp_path / "sessions").glob("xnys-*.json")
    assert kept.name == f"xnys-{version('exchange-calendars')}-{TODAY.isoformat()}.json"
