"""The API's errors: a bad parameter is a 400 naming the field, an unknown symbol a 404, and
nothing a client sends gets a 500 (an unexpected exception is logged with its traceback and
answered 500 without details, which the tests and schemathesis treat as a bug).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR

from vibe_live.logs import LOGGER

__all__ = ["BadParam", "UnknownSymbol", "EXCEPTION_HANDLERS"]


class BadParam(ValueError):
    """A query parameter the route cannot use; ``field`` names it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field, self.detail = field, detail


class UnknownSymbol(LookupError):
    def __init__(self, symbol: str, known: list[str]) -> None:
        super().__init__(f"unknown symbol {symbol!r}; known: {', '.join(known) or 'none'}")
        self.symbol = symbol


def _body(detail: str, field: str | None, status: int) -> Response[dict[str, Any]]:
    return Response({"detail": detail, "field": field}, status_code=status)


def _bad_param(_: Request[Any, Any, Any], exc: BadParam) -> Response[dict[str, Any]]:
    return _body(f"{exc.field}: {exc.detail}", exc.field, HTTP_400_BAD_REQUEST)


def _unknown_symbol(_: Request[Any, Any, Any], exc: UnknownSymbol) -> Response[dict[str, Any]]:
    return _body(str(exc), "symbol", 404)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar's parameter validation, reshaped: the first failing key is ``field``."""
    field = None
    message = str(exc.detail)
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        field = extra[0].get("key")
        message = f"{field}: {extra[0].get('message', message)}" if field else message
    return _body(message, field, HTTP_400_BAD_REQUEST)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    response = _body(str(exc.detail), None, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _not_found(_: Request[Any, Any, Any], exc: NotFoundException) -> Response[dict[str, Any]]:
    return _body(str(exc.detail), None, 404)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    LOGGER.log(
        logging.ERROR,
        "api error",
        exc_info=exc,
        extra={"event": "api error", "fields": {"path": request.url.path, "error": repr(exc)}},
    )
    return _body("internal error (logged)", None, HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    BadParam: _bad_param,
    UnknownSymbol: _unknown_symbol,
    ValidationException: _validation,
    NotFoundException: _not_found,
    HTTPException: _http,
    Exception: _unexpected,
}
