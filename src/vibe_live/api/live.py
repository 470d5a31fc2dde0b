"""The API inside the live service: :func:`attach_api` builds the app over the service and adds it
as a companion task (uvicorn on ``api.host``:``api.port`` in the service's event loop, started
before the feed, stopped after the final snapshot), plus a step hook that feeds the step-time
histogram, the feed's print times and the update stream.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from litestar.di import Provide

from vibe_core.actions import Action
from vibe_core.events import Event, Trade
from vibe_live.api.app import create_app
from vibe_live.api.live_source import LiveSource
from vibe_live.api.metrics import Metrics
from vibe_live.api.routes.control import AdminController, updates
from vibe_live.api.server import ApiServer, bind
from vibe_live.api.updates import UpdateHub
from vibe_live.store_rows import RECORDS

if TYPE_CHECKING:
    from vibe_live.service import LiveService

__all__ = ["LiveApi", "attach_api"]


class LiveApi:
    """The companion: the server, the update hub's task, the step hook."""

    def __init__(self, service: LiveService, *, host: str | None = None, port: int | None = None) -> None:
        api = service.settings.api
        self.service = service
        self.source = LiveSource(service)
        self.metrics = Metrics(self.source)
        self.hub = UpdateHub(self.source.reader, self._state, self._health, buffer=api.ws_buffer)
        self.app = create_app(
            self.source,
            api_key=api.api_key,
            enable_auth=api.enable_auth,
            cors_origins=api.cors_origins,
            metrics_registry=self.metrics,
            extra=[updates],
            admin=[AdminController],
            dependencies={
                "hub": Provide(lambda: self.hub, sync_to_thread=False),
                "inbox": Provide(lambda: service.commands, sync_to_thread=False),
            },
        )
        self.server = ApiServer(self.app, bind(host or api.host, api.port if port is None else port))
        self.url = self.server.url
        self._tg: TaskGroup | None = None
        self._positions: dict[str, Any] = {}

    # -- the step hook (runs in the step task: never waits) -------------------------------------------

    def on_step(
        self, events: Sequence[Event], results: list[tuple[int, list[Action]]], seconds: float
    ) -> None:
        self.metrics.step_seconds.observe(seconds)
        if events and isinstance(events[0], Trade):
            health = self.service.feed.health
            now = time.time_ns()
            health.last_message_ns = now
            for t in events:
                if isinstance(t, Trade):
                    health.last_print_ns[t.symbol] = now
        if any(isinstance(a, RECORDS) for _, acts in results for a in acts):
            self.hub.poke()

    # -- the update stream's state messages ---------------------------------------------------------

    def _state(self) -> list[dict[str, Any]]:
        account = self.source.account()
        out: list[dict[str, Any]] = [{"type": "account", "data": account}]
        held = {p.symbol: p for p in self.source.positions().positions}
        for symbol in sorted(set(held) | set(self._positions)):
            p = held.get(symbol)
            data = p if p is not None else {"symbol": symbol, "qty": 0, "avg_price": 0.0, "last_price": 0.0,
                                             "unrealized_pnl": 0.0, "realized_pnl": 0.0}  # fmt: skip
            out.append({"type": "position", "data": data})
        self._positions = dict(held)
        return out

    def _health(self) -> dict[str, Any]:
        return {"type": "health", "data": self.source.health()}["data"]  # type: ignore[return-value]

    # -- the companion ------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await tg.start(self.server.run)
            tg.start_soon(self.hub.run)
            task_status.started()

    async def stop(self) -> None:
        self.hub.publish()  # the last rows (the shutdown's CloseAll) reach the clients
        await self.hub.close_all()
        await self.server.stop()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self.source.close()


def attach_api(service: LiveService, *, host: str | None = None, port: int | None = None) -> LiveApi:
    """Serve the API with ``service`` (``port=0``: a free port; the URL is ``.url``)."""
    api = LiveApi(service, host=host, port=port)
    service.on_step.append(api.on_step)
    service.companions.append(api)
    return api
