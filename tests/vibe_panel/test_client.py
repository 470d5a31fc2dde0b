"""The API client against the real service (in-process, real uvicorn): the read routes as the
dashboard reads them, the controls' answers in words (403 with no key configured, 401 without or
with a wrong key, accepted with the right one), and a clear error when nothing answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.vibe_live.api_service import KEY, sample_bars, serving

from vibe_panel import frames
from vibe_panel.client import ApiClient, ApiError
from vibe_panel.server import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_reads_and_controls_through_the_client(tmp_path: Path):
    async with serving(tmp_path / "s.db", sample_bars(3)) as (service, live, _):
        client = ApiClient(live.url)
        try:
            account = await client.account()
            assert account["total_trades"] == len(service.store.rows("trades")) > 0
            trades = frames.trades_frame(await client.trades())
            stored = service.store.rows("trades")
            assert len(trades) == len(stored)
            assert sorted(trades["pnl"]) == sorted(round(r["pnl"], 2) for r in stored)
            assert (await client.bars("AAPL"))["bars"]
            with pytest.raises(ApiError) as err:
                await client.bars("NOPE")
            assert err.value.status == 404
            refused = await client.admin("pause", "")
            assert (refused.status, refused.accepted) == (401, False)
            assert "key is missing or wrong" in refused.message
            assert (await client.admin("pause", "wrong")).status == 401
            done = await client.admin("pause", KEY)
            assert done.accepted and done.seq is not None
            assert "pause accepted" in done.message
        finally:
            await client.aclose()


async def test_no_key_configured_is_explained(tmp_path: Path):
    async with serving(tmp_path / "s.db", sample_bars(1), stop_after=20, api_key="") as (_, live, _feed):
        client = ApiClient(live.url)
        try:
            result = await client.admin("close_all", "anything")
            assert (result.status, result.accepted) == (403, False)
            assert "controls are disabled" in result.message
        finally:
            await client.aclose()


async def test_an_api_that_does_not_answer_is_an_api_error():
    client = ApiClient(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ApiError) as err:
            await client.account()
        assert err.value.status == 0 and "/api/account" in str(err.value)
        assert not (await client.admin("pause", "k")).accepted
    finally:
        await client.aclose()
