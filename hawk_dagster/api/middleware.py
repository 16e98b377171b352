"""The outermost layer of every request: its id, its log line, the body size limit, and unhandled errors as JSON.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, so streamed responses (CSV exports) pass through without
being buffered, and the contextvar holding the request id is set for everything below, threadpool included.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hawk_dagster.api.errors import ApiError, error_response
from hawk_dagster.api.request_context import (
    REQUEST_ID_HEADER,
    request_id_from,
    reset_request_id,
    set_request_id,
)

log = logging.getLogger("hawk_dagster.api.access")
error_log = logging.getLogger("hawk_dagster.api.errors")


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than the server's limit of {limit} bytes", field="body")


class RequestMiddleware:
    """Request id in and out, one access-log line per request, bodies over ``max_body_bytes`` refused with 413 (by
    ``Content-Length`` before anything is read, else as they stream in), and any unhandled exception turned into the
    500 error body (logged with its traceback) when no response has started yet.

    A ``multipart/form-data`` body (a submission carrying the files its config names) may be up to
    ``max_upload_bytes``; what it carries is checked against the carry limits once it is read."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max(max_upload_bytes or 0, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = request_id_from(headers.get(REQUEST_ID_HEADER.lower()))
        token = set_request_id(request_id)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *(h for h in message["headers"] if h[0].lower() != REQUEST_ID_HEADER.lower().encode()),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        media = headers.get("content-type", "").split(";")[0].strip().lower()
        limit = self.max_upload_bytes if media == "multipart/form-data" else self.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise too_large(limit)
            await self.app(scope, limited_receive, send_with_id)
        except ApiError as exc:  # raised outside the app's own handlers (the body limit while reading)
            if state["status"] is not None:
                raise
            response = error_response(exc.status_code, exc.message, code=exc.code, field=exc.field)
            await response(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if state["status"] is not None:
                raise  # a streamed response failed midway: the connection is dropped, the client sees a cut body
            response = error_response(500, f"internal error; quote request id {request_id} to the operators")
            await response(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %.1fms",
                scope.get("method"),
                scope.get("path"),
                state["status"],
                (time.perf_counter() - started) * 1000,
            )
            reset_request_id(token)
