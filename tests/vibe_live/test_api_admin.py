"""The operator controls: the API key (403 with none configured, 401 without or with a wrong one,
compared in constant time), each command a logged event applied by the step task (in the log,
in the account, after a restart, in the audit), and ``api.enable_auth`` guarding every route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.vibe_live.api_service import KEY, sample_bars, serving

from vibe_backtest.api import calendar
from vibe_live.audit import audit_store
from vibe_live.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def bars() -> list[Any]:
    return sample_bars(6)


def _event(store: Store, seq: int) -> dict[str, Any]:
    (row,) = [r for r in store.rows("events") if r["seq"] == seq]
    data: dict[str, Any] = json.loads(row["payload"])
    return data


async def test_no_key_configured_disables_the_controls(tmp_path: Path) -> None:
    async with (
        serving(tmp_path / "s.db", sample_bars(1), stop_after=20, api_key="") as (service, live, _),
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        before = service.journal.last_seq
        for route in ("/admin/pause", "/admin/resume", "/admin/close_all"):
            answer = await client.post(route, headers={"X-API-Key": "anything"})
            assert answer.status_code == 403 and "disabled" in answer.json()["detail"]
        assert service.journal.last_seq == before


async def test_the_key_is_required_and_each_command_enters_the_log(tmp_path: Path, bars: list[Any]) -> None:
    db = tmp_path / "s.db"
    async with serving(db, bars) as (service, live, _), httpx.AsyncClient(base_url=live.url) as client:
        before = service.journal.last_seq
        for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY + "x"}, {"X-API-Key": KEY[:-1]}):
            answer = await client.post("/admin/pause", headers=headers)
            assert answer.status_code == 401, answer.text
        assert service.journal.last_seq == before  # nothing logged

        ok = {"X-API-Key": KEY}
        answer = await client.post("/admin/pause", headers=ok, json={"reason": "lunch"})
        assert answer.status_code == 200, answer.text
        seq = answer.json()["seq"]
        assert answer.json()["accepted"] is True and seq == before + 1 == service.journal.last_seq
        assert _event(service.store, seq) | {"ts_recv": None} == {
            "type": "Pause", "reason": "lunch", "ts": service.journal.state.now, "ts_recv": None,
        }  # fmt: skip
        assert (await client.get("/api/account")).json()["paused"] is True

        resumed = await client.post("/admin/resume", headers=ok)
        assert resumed.status_code == 200 and _event(service.store, resumed.json()["seq"])["type"] == "Resume"
        assert (await client.get("/api/account")).json()["paused"] is False
        paused = await client.post("/admin/pause", headers=ok)  # no body: reason "operator"
        assert _event(service.store, paused.json()["seq"])["reason"] == "operator"
        closed = await client.post("/admin/close_all", headers=ok, json={"reason": "test"})
        assert closed.status_code == 200 and _event(service.store, closed.json()["seq"])["type"] == "CloseAll"
        bad = await client.post("/admin/pause", headers=ok, content=b"{not json")
        assert bad.status_code == 400
        last = service.journal.last_seq

    # replayed on recovery: a restart on the same log is paused
    async with serving(db, bars) as (service, live, _), httpx.AsyncClient(base_url=live.url) as client:
        assert service.journal.last_seq >= last
        assert (await client.get("/api/account")).json()["paused"] is True

    # seen by the audit: the day the commands touched is reported as the operator's
    with Store(db, readonly=True) as store:
        report = audit_store(store, calendar())
    touched = [kind for day in report.days for kind, _ in day.touched]
    assert touched.count("Pause") == 2 and touched.count("Resume") == 1 and "CloseAll" in touched


async def test_a_command_wakes_an_idle_wall_clock_service(tmp_path: Path) -> None:
    """With the wall clock the step task sleeps until the next deadline (here: hours of replay time
    away); a command is applied at once, at the clock's time."""
    async with (
        serving(tmp_path / "s.db", sample_bars(1), speed=20_000.0) as (service, live, _),
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        answer = await client.post("/admin/pause", headers={"X-API-Key": KEY}, timeout=5)
        assert answer.status_code == 200, answer.text
        assert _event(service.store, answer.json()["seq"])["type"] == "Pause"
        assert service.view.paused


async def test_enable_auth_puts_the_key_on_every_route_but_liveness(tmp_path: Path) -> None:
    async with (
        serving(tmp_path / "s.db", sample_bars(1), stop_after=20, enable_auth=True) as (_, live, _feed),
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        assert (await client.get("/health/live")).status_code == 200
        for route in ("/api/account", "/api/trades", "/metrics", "/health/ready", "/api/bars/AAPL"):
            assert (await client.get(route)).status_code == 401, route
            assert (await client.get(route, headers={"X-API-Key": "nope"})).status_code == 401, route
            assert (await client.get(route, headers={"X-API-Key": KEY})).status_code == 200, route
