"""``mount_web(app, settings)``: the results pages, their static files and their HTML error pages on ``hawk serve``'s
app (``api.app.create_app`` calls it before mounting Inspect's viewer, so page routes match first).

Each page module under ``web/pages/`` has a ``router``; :data:`PAGE_ROUTERS` lists them. Page routes declare their
permission with ``requires(...)`` like the API's (the route audit checks them). Errors on page paths
(:data:`PAGE_PREFIXES`) answer HTML; the API keeps its JSON bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from hawk_dagster.api.errors import ApiError, field_of
from hawk_dagster.web.render import STATIC, STATIC_PATH, error_page

if TYPE_CHECKING:
    from hawk_dagster.api.settings import ServerSettings

PAGE_PREFIXES: Final = ("/eval-sets", "/samples", "/compare", "/scans")
"""Paths (besides ``/``) whose errors are pages, not JSON."""
PUBLIC_PATHS: Final = frozenset({STATIC_PATH})
"""The stylesheet and scripts: no data, served to anyone (``api.app.PUBLIC_PATHS`` includes these)."""

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page_path(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def page_routers() -> list[object]:
    from hawk_dagster.web.pages import compare, eval_set, eval_sets, sample, samples, scans

    return [eval_sets.router, eval_set.router, samples.router, sample.router, compare.router, scans.router]


def mount_web(app: FastAPI, settings: ServerSettings) -> None:
    from fastapi import APIRouter

    for router in page_routers():
        assert isinstance(router, APIRouter)
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="static")
    _answer_pages_in_html(app)


def _answer_pages_in_html(app: FastAPI) -> None:
    """Wrap the API's error handlers: on a page path the same error becomes a page (same status and headers)."""
    api_http = cast(Handler, app.exception_handlers[StarletteHTTPException])  # install_error_handlers': async
    api_validation = cast(Handler, app.exception_handlers[RequestValidationError])

    async def http_error(request: Request, exc: Exception) -> Response:
        if not is_page_path(request.url.path):
            return await api_http(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = exc.message if isinstance(exc, ApiError) else str(exc.detail)
        return error_page(request, exc.status_code, message, headers=dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not is_page_path(request.url.path):
            return await api_validation(request, exc)
        assert isinstance(exc, RequestValidationError)
        message = "; ".join(
            f"{field_of(e.get('loc', ())) or 'request'}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return error_page(request, 422, message or "invalid request")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
