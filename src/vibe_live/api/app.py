"""The Litestar app: :func:`create_app` over a read source (a live service or a results folder).

Routes (docs/api.md): health and ``/metrics``; the read routes under ``/api``; with a live
service also ``WS /ws/updates`` and the guarded ``POST /admin/...`` controls. OpenAPI at
``/schema`` (``/schema/openapi.json``); CORS origins from ``api.cors_origins``; errors are JSON
``{"detail", "field"}`` (:mod:`vibe_live.api.errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler

from vibe_live.api.auth import KeyGuard
from vibe_live.api.errors import EXCEPTION_HANDLERS
from vibe_live.api.metrics import Metrics
from vibe_live.api.routes.health import live, metrics, ready
from vibe_live.api.routes.read import ReadController
from vibe_live.api.source import ReadSource

__all__ = ["create_app"]


def create_app(
    source: ReadSource,
    *,
    api_key: str = "",
    enable_auth: bool = False,
    cors_origins: Sequence[str] = (),
    metrics_registry: Metrics | None = None,
    extra: Sequence[ControllerRouterHandler] = (),
    admin: Sequence[ControllerRouterHandler] = (),
    dependencies: dict[str, Any] | None = None,
    debug: bool = False,
) -> Litestar:
    """The app serving ``source``; ``extra`` adds the live-only handlers (the update stream), ``admin``
    the operator controls (always behind the key)."""
    from litestar import Router

    registry = metrics_registry or Metrics(source)
    guard = KeyGuard(api_key)
    guarded: list[ControllerRouterHandler] = [ready, metrics, ReadController, *extra]
    if admin:
        guarded.append(Router(path="/", route_handlers=list(admin), guards=[guard]))
    deps = {
        "source": Provide(lambda: source, sync_to_thread=False),
        "metrics": Provide(lambda: registry, sync_to_thread=False),
        **(dependencies or {}),
    }
    if enable_auth:
        handlers: list[ControllerRouterHandler] = [
            live,
            Router(path="/", route_handlers=guarded, guards=[guard]),
        ]
    else:
        handlers = [live, *guarded]
    return Litestar(
        route_handlers=handlers,
        dependencies=deps,
        exception_handlers=EXCEPTION_HANDLERS,
        cors_config=CORSConfig(allow_origins=list(cors_origins), allow_headers=["X-API-Key", "Content-Type"])
        if cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="vibe monitoring API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        ),
        debug=debug,
        logging_config=None,  # the service logs its own way; Litestar's default would open the root
        # logger at INFO, and httpx's request lines (the Finnhub token is in the URL) would reach stderr
    )
