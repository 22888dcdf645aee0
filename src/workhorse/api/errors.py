"""Every error the API returns is ``{"error": {"code": …, "message": …}}``.

Client mistakes map to 4xx here, whatever raised them (FastAPI's validation, Starlette's routing,
Workhorse's own errors); anything else is a 500 that is logged and says nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from workhorse.api.types import MAX_DEPTH
from workhorse.errors import (
    ConfigurationError,
    DatabaseError,
    DependencyError,
    InvalidTransitionError,
    JobNotFoundError,
    NotJSONError,
    QuotaExceededError,
    UnknownTaskError,
    WorkflowNotFoundError,
    WorkhorseError,
)

log = logging.getLogger("workhorse.api")

_CODES = {
    400: "malformed_json",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}

# Most specific first: the first class an error is an instance of decides.
_WORKHORSE_ERRORS: list[tuple[type[WorkhorseError], int, str]] = [
    (JobNotFoundError, 404, "not_found"),
    (WorkflowNotFoundError, 404, "not_found"),
    (DependencyError, 422, "invalid_request"),
    (InvalidTransitionError, 409, "invalid_transition"),
    (UnknownTaskError, 422, "unknown_task"),
    (NotJSONError, 422, "not_json"),
    (ConfigurationError, 422, "invalid_request"),
    (DatabaseError, 503, "database_unavailable"),
    (QuotaExceededError, 429, "quota_exceeded"),
]

RETRY_AFTER_SECONDS = 1
"""What a 429 or 503 tells the client to wait: queued jobs drain continuously, and a database
that is restarting or failing over is back within seconds, so soon is right."""


class ApiError(Exception):
    """An error response: raise it anywhere in a request."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def from_workhorse_error(exc: WorkhorseError) -> ApiError:
    """The API error for a Workhorse error (422 for a kind this table does not know)."""
    for kind, status, code in _WORKHORSE_ERRORS:
        if isinstance(exc, kind):
            retry = status in {429, 503}
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if retry else None
            return ApiError(status, code, str(exc), headers)
    return ApiError(422, "rejected", str(exc))


def validation_message(errors: Sequence[Any]) -> str:
    """One line naming each invalid field, e.g. ``body.priority: Input should be …``."""
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = len(errors) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _workhorse_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkhorseError)
    error = from_workhorse_error(exc)
    if error.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(error.status, error.code, error.message, error.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        ctx = errors[0].get("ctx") or {}
        detail = f": {ctx['error']}" if "error" in ctx else ""
        return error_response(400, "malformed_json", f"the body is not valid JSON{detail}")
    return error_response(422, "invalid_request", validation_message(errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # Nested too deeply for the JSON parser itself: the same 422 as any nesting over the
        # limit, not a "malformed" body (it is well-formed JSON).
        message = f"the body nests more than {MAX_DEPTH} levels deep"
        return error_response(422, "invalid_request", message)
    code = _CODES.get(exc.status_code, f"http_{exc.status_code}")
    message, headers = str(exc.detail), dict(exc.headers or {})
    if exc.status_code == 400:
        message = "the body is not valid JSON (or not UTF-8)"
    elif exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, message, headers)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path: one path may have several routes (``GET``
    and ``POST /v1/jobs``), and the router's 405 names only the first it tried. Asked through
    each route's own ``matches``, so routers included in others are searched too; mounted apps
    (static files) answer their own methods and are left out."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal error; it has been logged")


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(WorkhorseError, _workhorse_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(HTTPException, _http_error)
    api.add_exception_handler(Exception, _unexpected)
