"""The API key: ``X-API-Key`` against ``api.api_key``, compared in constant time.

Operator controls always need it (no key configured: 403, controls disabled; missing or wrong:
401). With ``api.enable_auth`` every route but ``/health/live`` needs it too.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

__all__ = ["KeyGuard", "HEADER"]

HEADER = "X-API-Key"


class KeyGuard:
    """A Litestar guard; ``required_for_all`` (``api.enable_auth``) guards every route it is on."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def check(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        if not self._key:
            raise PermissionDeniedException("operator controls are disabled: no api.api_key is configured")
        given = connection.headers.get(HEADER) or connection.query_params.get("api_key") or ""
        if not given:
            raise NotAuthorizedException(f"missing {HEADER} header")
        if not hmac.compare_digest(given.encode(), self._key):
            raise NotAuthorizedException(f"wrong {HEADER}")

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        self.check(connection)
