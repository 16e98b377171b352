"""The app factory: ``create_app(settings)`` wires the routes, the error shape, the request layer and CORS to one
warehouse engine and one storage root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hawk_dagster.api import deps
from hawk_dagster.api.authentication import Authenticator
from hawk_dagster.api.errors import install_error_handlers
from hawk_dagster.api.middleware import RequestMiddleware
from hawk_dagster.api.permissions import undeclared_routes
from hawk_dagster.api.request_context import REQUEST_ID_HEADER
from hawk_dagster.api.routes import eval_sets, health, samples, scans
from hawk_dagster.api.settings import ServerSettings
from hawk_dagster.web.mount import PUBLIC_PATHS as PAGE_PUBLIC_PATHS
from hawk_dagster.web.mount import mount_web

PUBLIC_PATHS = frozenset(
    {*health.PUBLIC_PATHS, "/docs", "/docs/oauth2-redirect", "/openapi.json", "/viewer", *PAGE_PUBLIC_PATHS}
)
"""Routes anyone may call: probes, the API's own description, the viewer's and the pages' static files (no data: they
read everything through authenticated routes). Every other route declares a permission."""


def create_app(settings: ServerSettings) -> FastAPI:
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings.warehouse_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="hawk",
        summary="Eval sets, samples, transcripts and scans of a hawk-dagster deployment, by model group.",
        version="1",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(deps.no_nul_bytes)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.storage = settings.storage
    app.state.authenticator = Authenticator(settings.oidc, settings.access)
    install_error_handlers(app)
    for router in (health.router, eval_sets.router, samples.router, scans.router):
        app.include_router(router)
    mount_web(app, settings)  # before the viewer's mount
    if settings.log_viewer:
        from hawk_dagster.api.viewer import mount_viewer

        mount_viewer(
            app, settings.storage, engine, app.state.authenticator
        )  # last: /api/v1 routes match first
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    # outermost: request ids and the body limit on everything, CORS answers included
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)
    undeclared = undeclared_routes(app, PUBLIC_PATHS)
    if (
        undeclared
    ):  # a route without a permission is a hole: refuse to start (the route audit test says which)
        raise RuntimeError(f"routes without a declared permission: {', '.join(undeclared)}")
    return app
