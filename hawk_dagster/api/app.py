"""The app factory: ``create_app(settings)`` wires the routes, the error shape, the request layer and CORS to one
warehouse engine and one storage root."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hawk_dagster.api import deps
from hawk_dagster.api.authentication import Authenticator
from hawk_dagster.api.errors import install_error_handlers
from hawk_dagster.api.middleware import RequestMiddleware
from hawk_dagster.api.permissions import undeclared_routes
from hawk_dagster.api.request_context import REQUEST_ID_HEADER
from hawk_dagster.api.routes import edits, eval_set_operations, eval_sets, health, samples, scans, signin
from hawk_dagster.api.session_cookies import BrowserSessionMiddleware
from hawk_dagster.api.settings import ServerSettings
from hawk_dagster.web.mount import PUBLIC_PATHS as PAGE_PUBLIC_PATHS
from hawk_dagster.web.mount import mount_web

if TYPE_CHECKING:
    from hawk_dagster.auth.browser_signin import BrowserSignIn

PUBLIC_PATHS = frozenset(
    {*health.PUBLIC_PATHS, *signin.PUBLIC_PATHS, "/docs", "/docs/oauth2-redirect", "/openapi.json", "/viewer",
     *PAGE_PUBLIC_PATHS}
)  # fmt: skip
"""Routes anyone may call: probes, signing in and out, the API's own description, the viewer's and the pages' static
files (no data: they read everything through authenticated routes). Every other route declares a permission."""

log = logging.getLogger(__name__)


def browser_signin(settings: ServerSettings, authenticator: Authenticator) -> BrowserSignIn | None:
    """Browser sign-in when an issuer and a web (or CLI) client are configured, else None."""
    if settings.oidc is None or settings.oidc.browser_client_id is None or authenticator.verifier is None:
        return None
    from hawk_dagster.auth.browser_signin import BrowserSignIn
    from hawk_dagster.auth.cookie_seal import SESSION_SECRET_ENV, process_seal

    seal = settings.session_seal
    if seal is None:
        log.warning(
            "%s is not set: browser sign-ins are sealed with a key of this process, so they end when it restarts "
            "and do not work across replicas",
            SESSION_SECRET_ENV,
        )
        seal = process_seal()
    return BrowserSignIn(settings.oidc, authenticator.verifier, seal)


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
    app.state.instance_lock = threading.Lock()
    app.state.authenticator = Authenticator(settings.oidc, settings.access)
    app.state.browser_signin = browser_signin(settings, app.state.authenticator)
    install_error_handlers(app)
    for router in (
        health.router,
        eval_sets.router,
        eval_set_operations.router,
        samples.router,
        scans.router,
        edits.router,
        signin.router,
    ):
        app.include_router(router)
    mount_web(app, settings)  # before the viewer's mount
    if settings.log_viewer:
        from hawk_dagster.api.viewer import mount_viewer

        mount_viewer(
            app, settings.storage, engine, app.state.authenticator
        )  # last: /api/v1 routes match first
    app.add_middleware(
        BrowserSessionMiddleware, signin=app.state.browser_signin, public_url=settings.public_url
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    # outermost: request ids and the body limit on everything, CORS answers included
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    undeclared = undeclared_routes(app, PUBLIC_PATHS)
    if (
        undeclared
    ):  # a route without a permission is a hole: refuse to start (the route audit test says which)
        raise RuntimeError(f"routes without a declared permission: {', '.join(undeclared)}")
    return app
