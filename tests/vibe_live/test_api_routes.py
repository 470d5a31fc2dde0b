"""The API under a real uvicorn inside the service, hit with httpx after a replay of the sample
market: every read route's shape and content against the store, paging, bad parameters, and
``/metrics`` (parsed with prometheus_client) against the read routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.vibe_live.api_service import SYMBOLS, sample_bars, serving

from vibe_live.api.shapes import utc
from vibe_live.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def bars() -> list[Any]:
    return sample_bars(6)


async def _all_pages(client: httpx.AsyncClient, route: str, key: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = await client.get(route, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


async def test_the_read_routes_show_what_the_store_holds(tmp_path: Path, bars: list[Any]) -> None:
    async with serving(tmp_path / "s.db", bars) as (service, live, _):
        store: Store = service.store
        async with httpx.AsyncClient(base_url=live.url) as client:
            # trades: every stored trade, newest first, through pages of 3
            trades = await _all_pages(client, "/api/trades", "trades", limit=3)
            stored = store.rows("trades")
            assert len(stored) >= 3
            assert [(t["symbol"], t["entry_time"], t["exit_time"], t["pnl"], t["fees"]) for t in trades] == [
                (r["symbol"], utc(r["entry_time"]), utc(r["exit_time"]), r["pnl"], r["fees"])
                for r in reversed(stored)
            ]
            assert all(t["r_multiple"] is not None and t["strategy"] == "orb" for t in trades)
            assert set(trades[0]) == {
                *("symbol", "side", "qty", "entry_time", "entry_price", "exit_time", "exit_price", "pnl"),
                *("fees", "exit_reason", "strategy", "r_multiple"),
            }
            one = await client.get("/api/trades", params={"symbol": "MSFT", "limit": 1000})
            assert [t["exit_time"] for t in one.json()["trades"]] == [
                utc(r["exit_time"]) for r in reversed(stored) if r["symbol"] == "MSFT"
            ]
            since = stored[-2]["exit_time"]
            recent = await client.get("/api/trades", params={"since": utc(since)})
            assert len(recent.json()["trades"]) == sum(1 for r in stored if r["exit_time"] >= since)

            # fills and orders
            fills = await _all_pages(client, "/api/fills", "fills", limit=7)
            assert [(f["order_id"], f["qty"], f["price"]) for f in fills] == [
                (r["order_id"], r["qty"], r["price"]) for r in reversed(store.rows("fills"))
            ]
            orders = await _all_pages(client, "/api/orders", "orders", limit=5)
            stored_orders = sorted(store.rows("orders"), key=lambda r: (r["seq"], r["idx"]), reverse=True)
            assert [o["id"] for o in orders] == [r["id"] for r in stored_orders]
            for o in orders:
                mine = [f for f in fills if f["order_id"] == o["id"]]
                assert o["filled_qty"] == sum(f["qty"] for f in mine)
                assert o["status"] in {"working", "partially_filled", "filled", "cancelled", "rejected"}
                assert (o["status"] == "filled") == (o["filled_qty"] == o["qty"])
            filled = await _all_pages(client, "/api/orders", "orders", status="filled", limit=2)
            assert [o["id"] for o in filled] == [o["id"] for o in orders if o["status"] == "filled"]

            # signals: verdicts, reasons and vetoes
            signals = await _all_pages(client, "/api/signals", "signals", limit=50)
            assert [(s["time"], s["verdict"] == "accepted", s["vetoes"]) for s in signals] == [
                (utc(r["time"]), bool(r["accepted"]), __import__("json").loads(r["vetoes"]))
                for r in reversed(store.rows("signals"))
            ]

            # account and positions: the read model
            view = service.view
            account = (await client.get("/api/account")).json()
            assert account["equity"] == pytest.approx(view.account.equity)
            assert account["cash"] == pytest.approx(view.account.cash)
            assert account["total_trades"] == len(stored)
            assert account["open_positions"] == len(view.positions)
            assert account["mode"] == "replay" and account["paused"] is False
            positions = (await client.get("/api/positions")).json()["positions"]
            assert [(p["symbol"], p["qty"]) for p in positions] == [(p.symbol, p.qty) for p in view.positions]

            # equity: the stored samples with their drawdown
            curve = (await client.get("/api/equity")).json()["equity"]
            samples = store.rows("equity")
            assert [(e["time"], e["equity"]) for e in curve] == [
                (utc(r["time"]), r["equity"]) for r in samples
            ]
            assert all(0 <= e["drawdown"] < 1 for e in curve)

            # bars: the replayed prints give the input bars back exactly
            answer = (await client.get("/api/bars/AAPL", params={"limit": 20})).json()
            mine = [b for b in bars if b.symbol == "AAPL"][-20:]
            assert [
                (b["time"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in answer["bars"]
            ] == [(utc(b.ts), b.open, b.high, b.low, b.close, b.volume) for b in mine]
            day = [b for b in bars if b.symbol == "AAPL" and utc(b.ts)[:10] == "2024-07-26"][
                :3
            ]  # 09:30-09:44
            assert answer["opening_range"] == {
                "date": "2024-07-26", "high": max(b.high for b in day), "low": min(b.low for b in day)
            }  # fmt: skip

            perf = (await client.get("/api/metrics/performance", params={"period": "all"})).json()
            assert perf["trades"] == len(stored)
            assert perf["pnl"] == pytest.approx(view.account.equity - service.settings.core.initial_capital)
            wins = sum(1 for r in stored if r["pnl"] > 0)
            assert perf["win_rate"] == pytest.approx(wins / len(stored))

            health = (await client.get("/api/metrics/health")).json()
            assert health["feed"]["connected"] is True and set(
                health["feed"]["last_print_age_seconds"]
            ) == set(SYMBOLS)
            assert health["last_data_time"] == utc(view.ts) and health["gaps"] == []
            assert (await client.get("/health/live")).json()["status"] == "alive"
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"feed", "heartbeat", "errors", "store"}


BAD = [
    ("/api/trades?limit=0", "limit"),
    ("/api/trades?limit=abc", "limit"),
    ("/api/trades?limit=1001", "limit"),
    ("/api/orders?status=lost", "status"),
    ("/api/fills?since=yesterday", "since"),
    ("/api/signals?cursor=../../etc", "cursor"),
    ("/api/equity?since=99999-01-01", "since"),
    ("/api/metrics/performance?period=year", "period"),
    ("/api/bars/AAPL?timeframe=7m", "timeframe"),
    ("/api/bars/AAPL?limit=-1", "limit"),
]


async def test_a_bad_parameter_is_a_400_naming_it_and_an_unknown_symbol_a_404(tmp_path: Path) -> None:
    async with (
        serving(tmp_path / "s.db", sample_bars(1), stop_after=10) as (_, live, _feed),
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        for route, field in BAD:
            answer = await client.get(route)
            assert answer.status_code == 400, (route, answer.text)
            assert answer.json()["field"] == field and field in answer.json()["detail"], route
        unknown = await client.get("/api/bars/NOPE")
        assert unknown.status_code == 404 and "NOPE" in unknown.json()["detail"]


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_the_prometheus_output_parses_and_equals_the_api(tmp_path: Path, bars: list[Any]) -> None:
    async with serving(tmp_path / "s.db", bars) as (service, live, _):
        async with httpx.AsyncClient(base_url=live.url) as client:
            text = (await client.get("/metrics")).text
            account = (await client.get("/api/account")).json()
            orders = await _all_pages(client, "/api/orders", "orders", limit=1000)
            fills = await _all_pages(client, "/api/fills", "fills", limit=1000)
        m = _metrics(text)
        assert m[("vibe_equity_dollars", ())] == pytest.approx(account["equity"])
        assert m[("vibe_cash_dollars", ())] == pytest.approx(account["cash"])
        assert m[("vibe_daily_pnl_dollars", ())] == pytest.approx(account["daily_pnl"])
        assert m[("vibe_open_positions", ())] == account["open_positions"]
        assert m[("vibe_fills_total", ())] == len(fills)
        assert m[("vibe_events_applied_total", ())] == service.journal.last_seq
        assert m[("vibe_feed_connected", ())] == 1.0 and m[("vibe_feed_reconnects_total", ())] == 0
        statuses = {o["status"] for o in orders}
        for status in statuses:
            count = sum(1 for o in orders if o["status"] == status)
            assert m[("vibe_orders_total", (("status", status),))] == count
        assert {
            s
            for (name, labels), _ in m.items()
            if name == "vibe_feed_last_print_age_seconds"
            for _, s in labels
        } == set(SYMBOLS)
        steps = m[("vibe_step_seconds_count", ())]
        assert steps > 100 and m[("vibe_step_seconds_bucket", (("le", "+Inf"),))] == steps
        assert m[("process_resident_memory_bytes", ())] > 10_000_000
        assert m[("vibe_uptime_seconds", ())] > 0


async def test_ready_is_503_naming_the_failing_checks(tmp_path: Path) -> None:
    """Mid-session (the replay stops at 11:00): a dropped feed and a silent one fail readiness."""
    import time

    async with (
        serving(tmp_path / "s.db", sample_bars(1), stop_after=120) as (service, live, feed),
        httpx.AsyncClient(base_url=live.url) as client,
    ):
        assert service.view.session_open
        assert (await client.get("/health/ready")).status_code == 200
        feed.health.down(time.time_ns())
        feed.health.last_message_ns = time.time_ns() - 180 * 10**9
        answer = await client.get("/health/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "not ready"
        assert {name for name, check in body["checks"].items() if not check["ok"]} == {"feed", "heartbeat"}
        assert body["checks"]["feed"]["detail"] == "disconnected"
        assert (await client.get("/api/metrics/health")).json()["feed"]["connected"] is False
        metrics = (await client.get("/metrics")).text
        assert "vibe_feed_connected 0.0" in metrics
        features = attrs.evolve(service.settings.features, enable_health_checks=False)
        service.settings = attrs.evolve(service.settings, features=features)
        answer = await client.get("/health/ready")  # checks off: ready whenever it answers
        assert answer.status_code == 200 and answer.json()["checks"] == {}
