"""Every error the API answers has one shape: ``{"error": {"code", "message", "field"?, "request_id"}}``.

Validation errors name the field; 401s carry ``WWW-Authenticate``; a forbidden object answers exactly as an absent
one (:func:`not_found`), so ids cannot be probed; an unhandled error says only that it happened and under which
request id (the traceback goes to the log with that id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hawk_dagster.api.request_context import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "not_ready",
}


class ApiError(StarletteHTTPException):
    """An answer other than success, with the error body's fields. A Starlette ``HTTPException`` so that FastAPI
    lets it through unchanged wherever it is raised (even while the body is read)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail=message, headers=dict(headers) if headers else None)
        self.code = code or _CODES.get(status_code, "error")
        self.message = message
        self.field = field


def not_found(what: str = "resource") -> ApiError:
    """The one answer for an id that is absent *or* hidden from the caller: same status, same body."""
    return ApiError(404, f"no such {what}", code="not_found")


def error_body(
    status_code: int, message: str, *, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code or _CODES.get(status_code, "error"), "message": message}
    if field:
        error["field"] = field
    error["request_id"] = current_request_id()
    return {"error": error}


def error_response(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    merged = {REQUEST_ID_HEADER: current_request_id(), **(headers or {})}
    return JSONResponse(error_body(status_code, message, code=code, field=field), status_code, headers=merged)


def field_of(loc: Sequence[str | int]) -> str:
    """``("query", "score_min")`` -> ``score_min``; ``("body", "a", 0)`` -> ``a[0]``."""
    parts = list(loc[1:] if loc and loc[0] in ("query", "path", "body", "header", "cookie") else loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 401:  # a page asked for without a sign-in goes to sign in; the API answers 401
        from hawk_dagster.api.session_cookies import sign_in_redirect

        redirect = sign_in_redirect(request)
        if redirect is not None:
            return redirect
    if isinstance(exc, ApiError):
        return error_response(
            exc.status_code, exc.message, code=exc.code, field=exc.field, headers=exc.headers
        )
    message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = "no such resource"
    return error_response(exc.status_code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    parts = [
        f"{field_of(e.get('loc', ())) or 'request'}: {e.get('msg', 'invalid')}"
        + (f" (got {_short(e['input'])})" if "input" in e and e.get("type") != "missing" else "")
        for e in errors
    ]
    return error_response(
        422, "; ".join(parts) or "invalid request", field=field_of(first.get("loc", ())) or None
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
