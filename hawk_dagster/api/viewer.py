"""Eval sets' logs through Inspect's own log server (``inspect_ai``'s ``view_server_app``) and its bundled viewer, on
the API's origin, so transcripts open in the viewer researchers know:
``/viewer/?log_dir=<eval_set_id>#/logs/<file>/samples/sample/<id>/<epoch>/``.

The bundled viewer calls its API at ``/api/...``, so Inspect's app is mounted there, beside ``/api/v1``; only its
read routes are let through (:data:`READ_PATHS`): no edits, deletes or client log messages, no ``/user-info`` (the
server's own user), no Scout search (which reads directories without asking an access policy). Every call is
authenticated as the rest of the API is, and what it may read is decided by the one rule (``access.policy``):

- *Mapping.* Paths in requests are relative to the storage root's ``evals/`` folder: ``<eval_set_id>/<file>``;
  Inspect sees the real location, and names in answers are mapped back.
- *Access.* A file is readable when its first segment is an eval set the caller may see (checked in the warehouse);
  a folder is listable only when it is one such eval set (no listing of ``evals/``, which would name every eval set).
  No ``..``, no absolute paths or URIs.
- *Answers.* A refusal and a missing file both answer the API's one 404 body, so nothing tells them apart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hawk_dagster.api.errors import ApiError, error_response
from hawk_dagster.api.permissions import Permission, authorization_of

if TYPE_CHECKING:
    from fastapi import Request
    from sqlalchemy import Engine

    from hawk_dagster.access.principal import Principal
    from hawk_dagster.api.authentication import Authenticator
    from hawk_dagster.storage.root import StorageRoot

PRINCIPAL_KEY: Final = "hawk.principal"
API_MOUNT: Final = "/api"
VIEWER_MOUNT: Final = "/viewer"
READ_PATHS: Final = re.compile(
    r"^/(logs(/.*)?|log-size/.+|log-info/.+|log-bytes/.+|log-download/.+|log-dir|log-files|eval-set|flow|"
    r"log-headers|events|pending-samples|pending-sample-data|pending-sample-data-urls|app-config)$"
)
_ID: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class EvalLogAccess:
    """Inspect's ``FileMappingPolicy`` and ``AccessPolicy`` over ``<root>/evals``, by the caller's model groups."""

    def __init__(self, storage: StorageRoot, engine: Engine) -> None:
        self.engine = engine
        self.root = storage.uri_of("evals").rstrip("/")
        self._roots = (self.root, f"file://{self.root}") if storage.is_local else (self.root,)

    @staticmethod
    def eval_set_of(file: str) -> str | None:
        """The eval set a request path names, or None when the path is not one we serve."""
        if "\\" in file or "://" in file or file.startswith(("/", "~")):
            return None
        parts = file.rstrip("/").split("/")
        if not parts or any(part in ("", ".", "..") for part in parts) or not _ID.match(parts[0]):
            return None
        return parts[0]

    async def map(self, request: Request, file: str) -> str:
        return f"{self.root}/{file}" if self.eval_set_of(file) else f"{self.root}/.refused"

    async def unmap(self, request: Request, file: str) -> str:
        for root in self._roots:
            if file.startswith(f"{root}/"):
                return file[len(root) + 1 :]
        return file

    async def _visible(self, request: Request, eval_set_id: str | None) -> bool:
        if eval_set_id is None:
            return False
        principal: Principal | None = request.scope.get(PRINCIPAL_KEY)
        if principal is None:
            return False
        cache: dict[str, bool] = request.scope.setdefault("hawk.visible", {})
        if eval_set_id not in cache:
            cache[eval_set_id] = await anyio.to_thread.run_sync(
                self._visible_in_warehouse, principal, eval_set_id
            )
        return cache[eval_set_id]

    def _visible_in_warehouse(self, principal: Principal, eval_set_id: str) -> bool:
        from sqlalchemy import select

        from hawk_dagster.access.policy import visible_clause
        from hawk_dagster.warehouse.schema.models import EvalSet

        query = select(EvalSet.pk).where(
            EvalSet.eval_set_id == eval_set_id, visible_clause(principal, EvalSet.model_groups)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    async def can_read(self, request: Request, file: str) -> bool:
        return await self._visible(request, self.eval_set_of(file))

    async def can_list(self, request: Request, dir: str) -> bool:
        eval_set_id = self.eval_set_of(dir)
        return (
            eval_set_id is not None
            and dir.rstrip("/") == eval_set_id
            and await self._visible(request, eval_set_id)
        )

    async def can_write(self, request: Request, file: str) -> bool:
        return False

    async def can_delete(self, request: Request, file: str) -> bool:
        return False


class ViewerApi:
    """Inspect's log API behind our authentication, read routes only, refusals and misses as our one 404."""

    permission: Final = Permission.VIEW
    """Declared for the route audit, like every other route."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        relative = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        if scope["method"] not in ("GET", "HEAD") or not READ_PATHS.match(relative):
            # what is not served is absent for everyone (unknown /api/v1/... paths too), signed in or not
            await error_response(404, "no such resource")(scope, receive, send)
            return
        try:  # a bearer token, or a signed-in browser's session (the viewer's own calls carry only cookies)
            principal = await anyio.to_thread.run_sync(self.authenticator.principal, authorization_of(scope))
        except ApiError as exc:
            await error_response(exc.status_code, exc.message, code=exc.code, headers=exc.headers)(
                scope, receive, send
            )
            return
        scope[PRINCIPAL_KEY] = principal
        replaced: dict[str, Any] = {"status": None}

        async def send_or_replace(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (403, 404):
                replaced["status"] = message["status"]
                return
            if replaced["status"] is not None:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    await error_response(404, "no such log")(scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, send_or_replace)


class _BesideApiV1(Mount):
    """The log API's mount at ``/api``, leaving ``/api/v1/...`` to the API's own routes (so a wrong method there is
    still a 405, an unknown path a 404 of ours)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == "/api/v1" or path.startswith("/api/v1/"):
            return Match.NONE, {}
        return super().matches(scope)


def mount_viewer(app: Any, storage: StorageRoot, engine: Engine, authenticator: Authenticator) -> None:
    """Mount Inspect's log API at ``/api`` (after every ``/api/v1`` route) and its bundled viewer at ``/viewer``."""
    from inspect_ai._view._dist import resolve_dist_directory
    from inspect_ai._view.fastapi_server import view_server_app
    from starlette.staticfiles import StaticFiles

    access = EvalLogAccess(storage, engine)
    inspect_api = view_server_app(mapping_policy=access, access_policy=access, default_dir="", recursive=True)
    app.router.routes.append(
        _BesideApiV1(API_MOUNT, app=ViewerApi(inspect_api, authenticator), name="inspect-log-api")
    )
    app.mount(
        VIEWER_MOUNT, StaticFiles(directory=str(resolve_dist_directory()), html=True), name="inspect-viewer"
    )
