"""The dashboard's one door to the monitoring API (``docs/api.md``): the read routes and the controls.

Every screen reads through :class:`ApiClient`, live or over a finished backtest (``--results``
serves the files through the API's own app), so the dashboard never parses a store or a file.
Answers are the API's JSON as plain dicts; a refused or failed call raises :class:`ApiError`
carrying the status and the API's ``detail``.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

import attrs
import httpx

__all__ = ["ADMIN_COMMANDS", "AdminResult", "ApiClient", "ApiError"]

ADMIN_COMMANDS: Final = ("pause", "resume", "close_all")


class ApiError(Exception):
    """An API call that did not answer 2xx (``status`` 0: no answer at all)."""

    def __init__(self, route: str, status: int, detail: str) -> None:
        super().__init__(f"{route}: {status or 'unreachable'} {detail}".strip())
        self.route, self.status, self.detail = route, status, detail


@attrs.frozen
class AdminResult:
    """What a control command got: accepted with its event's sequence number, or refused and why."""

    command: str
    status: int
    accepted: bool
    message: str
    seq: int | None = None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail", body))
    return str(body)


class ApiClient:
    """Async calls to one API base URL (``http://127.0.0.1:8080``); one pooled connection set."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, route: str, **params: Any) -> Any:
        """GET ``route`` with the non-None ``params``; the decoded JSON or :class:`ApiError`."""
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = await self._http.get(route, params=query)
        except httpx.HTTPError as exc:
            raise ApiError(route, 0, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise ApiError(route, response.status_code, _detail(response))
        return response.json()

    async def account(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/api/account")
        return result

    async def positions(self) -> list[dict[str, Any]]:
        return list((await self.get("/api/positions"))["positions"])

    async def trades(self, *, limit: int = 500, symbol: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` closed trades, newest first."""
        return list((await self.get("/api/trades", limit=limit, symbol=symbol))["trades"])

    async def fills(self, *, limit: int = 500) -> list[dict[str, Any]]:
        return list((await self.get("/api/fills", limit=limit))["fills"])

    async def orders(self, *, limit: int = 500) -> list[dict[str, Any]]:
        return list((await self.get("/api/orders", limit=limit))["orders"])

    async def signals(self, *, limit: int = 500) -> list[dict[str, Any]]:
        return list((await self.get("/api/signals", limit=limit))["signals"])

    async def equity(self, *, since: str | None = None) -> list[dict[str, Any]]:
        """The equity curve (from ``since``, inclusive: an ISO time)."""
        return list((await self.get("/api/equity", since=since))["equity"])

    async def bars(self, symbol: str, *, limit: int | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/api/bars/{quote(symbol, safe='')}", limit=limit)
        return result

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/api/metrics/health")
        return result

    async def performance(self, period: str = "all") -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/api/metrics/performance", period=period)
        return result

    async def admin(self, command: str, api_key: str, *, reason: str | None = None) -> AdminResult:
        """POST ``/admin/{command}`` with ``X-API-Key``; refusals come back as a result, not raised."""
        if command not in ADMIN_COMMANDS:
            raise ValueError(f"unknown command {command!r} (one of {', '.join(ADMIN_COMMANDS)})")
        body = {"reason": reason} if reason else None
        request = self._http.build_request("POST", f"/admin/{command}", json=body)
        # only the key the operator gave: never the one the client may hold for the read routes
        request.headers.pop("X-API-Key", None)
        if api_key:
            request.headers["X-API-Key"] = api_key
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            return AdminResult(command, 0, False, f"the API did not answer ({type(exc).__name__})")
        status = response.status_code
        if status < 300:
            seq = response.json().get("seq")
            return AdminResult(command, status, True, f"{command} accepted (event {seq})", seq)
        if status == 401:
            message = "refused: the API key is missing or wrong (401)"
        elif status == 403:
            message = "refused: controls are disabled on this service, no api.api_key is set (403)"
        else:
            message = f"refused ({status}): {_detail(response)}"
        return AdminResult(command, status, False, message)
