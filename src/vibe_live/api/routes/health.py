"""``/health/live``, ``/health/ready`` (503 with the failing checks) and ``/metrics``."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from vibe_live.api.metrics import CONTENT_TYPE, Metrics
from vibe_live.api.models import Live, Ready
from vibe_live.api.source import ReadSource

__all__ = ["live", "ready", "metrics"]


@get("/health/live", sync_to_thread=False, tags=["health"])
def live(source: NamedDependency[ReadSource]) -> Live:
    """The process is up (no checks: a liveness probe)."""
    return Live(status="alive", uptime_seconds=source.uptime())


@get(
    "/health/ready",
    sync_to_thread=False,
    tags=["health"],
    responses={503: ResponseSpec(data_container=Ready, description="a check failed")},
)
def ready(source: NamedDependency[ReadSource]) -> Response[Ready]:
    """Ready to serve: feed connected (or market closed), a heartbeat within 2 minutes, a low error
    rate and a writable store; 503 with the same body when a check fails."""
    body = source.ready()
    return Response(body, status_code=200 if body.status == "ready" else 503)


@get("/metrics", sync_to_thread=False, tags=["health"], media_type=CONTENT_TYPE)
def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    """Prometheus text exposition (``vibe_*`` and ``process_*``)."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)
