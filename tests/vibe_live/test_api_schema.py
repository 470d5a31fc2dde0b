"""schemathesis against the OpenAPI schema at ``/schema``: generated requests to every operation of
the live API (the service replaying under uvicorn) never get a 5xx, and every response matches
its documented schema and content type. Bounded: a few examples per operation."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from tests.vibe_live.api_service import END, KEY, SYMBOLS, sample_bars, serving

from vibe_backtest.api import calendar, run_backtest
from vibe_backtest.sample import sample_market
from vibe_live.api.app import create_app
from vibe_live.api.results_source import ResultsSource
from vibe_live.api.server import ApiServer, bind

EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz(base_url: str, headers: dict[str, str]) -> list[str]:
    """Run every operation's examples; the operations seen."""
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        seen.append(f"{operation.method.upper()} {operation.path}")

        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)

        check()
    return seen


@pytest.mark.anyio
async def test_the_live_api_answers_generated_requests_as_its_schema_says(tmp_path: Path) -> None:
    async with serving(tmp_path / "s.db", sample_bars(3)) as (_, live, _feed):
        # schemathesis is synchronous: it runs in a worker thread while the event loop serves
        seen = await anyio.to_thread.run_sync(_fuzz, live.url, {"X-API-Key": KEY})
    assert {"GET /api/trades", "GET /api/bars/{symbol}", "POST /admin/pause", "GET /metrics"} <= set(seen)


@pytest.mark.anyio
async def test_the_results_api_answers_generated_requests_as_its_schema_says(tmp_path: Path) -> None:
    """The same over a backtest's folder (what ``vibe-live serve-results`` serves), under uvicorn."""
    market = sample_market(list(SYMBOLS), sessions=calendar(), n_sessions=3, end=END)
    result = run_backtest(market, config={"symbols": list(SYMBOLS), "validation": {"enabled": False}})
    result.write(tmp_path / "out", report=False)
    server = ApiServer(create_app(ResultsSource(tmp_path / "out")), bind("127.0.0.1", 0))
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        try:
            seen = await anyio.to_thread.run_sync(_fuzz, server.url, {})
        finally:
            await server.stop()
    assert {"GET /api/signals", "GET /api/bars/{symbol}"} <= set(seen) and "POST /admin/pause" not in seen


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
