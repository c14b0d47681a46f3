"""JSON errors of the REST API, in one place.

Every error answer is ``{"code", "message"}`` plus ``field`` for validation errors (and ``details`` where
useful): a :class:`~mailroom.errors.MailroomError` answers with its own ``http_status`` and ``code``;
FastAPI's request validation with 422 ``validation_error`` and the offending field; HTTP errors raised by the
framework (unknown route, wrong method) with ``not_found`` / ``method_not_allowed`` / ``http_error``; anything
else with 500 ``internal_error`` and no internals (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mailroom.errors import (
    HttpError,
    MailroomError,
    MethodNotAllowed,
    RouteNotFound,
    StorageUnavailable,
    Unauthorized,
    ValidationFailed,
    storage_error,
)
from mailroom.storage.db import is_unavailable

log = logging.getLogger(__name__)


#: What a 503 answer (storage unavailable, a tool missing) asks the client to wait before it tries again.
RETRY_AFTER_SECONDS = 30


def error_response(error: MailroomError) -> JSONResponse:
    body = error.to_dict()
    body.pop("permanent", None)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
    if error.http_status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=error.http_status, headers=headers)


def _field(location: Sequence[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _mailroom_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MailroomError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field(first.get("loc", ()))
    problems = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in errors]
    return error_response(ValidationFailed(f"{field}: {first.get('msg', 'invalid')}", field=field, errors=problems))


_HTTP_ERRORS: dict[int, type[MailroomError]] = {404: RouteNotFound, 405: MethodNotAllowed}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {"code": _HTTP_ERRORS.get(exc.status_code, HttpError).code, "message": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    unavailable = storage_error(exc)
    if unavailable is None and is_unavailable(exc):  # e.g. SQLite's "attempt to write a readonly database"
        unavailable = StorageUnavailable(f"database unavailable: {getattr(exc, 'orig', None) or exc}")
    if unavailable is not None:  # a read-only or full data directory: retry later (503), no internal error
        log.error("%s %s failed: %s", request.method, request.url.path, unavailable)
        return error_response(unavailable)
    log.exception("%s %s: unexpected error", request.method, request.url.path)
    return JSONResponse({"code": "internal_error", "message": "internal error; see the service log"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MailroomError, _mailroom_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


#: OpenAPI description of the error answers, for ``responses=`` of the routes.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "stable machine-readable code"},
        "message": {"type": "string"},
        "field": {"type": "string", "description": "the offending field (validation errors)"},
        "details": {"type": "object"},
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting JSON errors for these statuses."""
    return {
        status: {"description": "error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for status in statuses
    }
