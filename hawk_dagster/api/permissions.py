"""Every route declares what it needs: ``Depends(requires(Permission.VIEW))`` authenticates the caller and records
the permission on the route, where the route audit (``tests/api/test_route_audit.py``) finds it.

The route-level permission says what kind of act the route is; which objects the caller may act on is decided per
object by ``hawk_dagster.access.policy`` (listings filtered in SQL, a hidden id answered as an absent one).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from hawk_dagster.access.principal import Principal
from hawk_dagster.api.authentication import Authenticator
from hawk_dagster.api.session_cookies import SESSION_TOKEN_KEY

_bearer = HTTPBearer(auto_error=False, description="An access token from the deployment's OpenID provider.")


class Permission(enum.StrEnum):
    VIEW = "view"
    """Read eval sets, samples, transcripts, scans, exports: only those whose model groups the caller holds."""
    SUBMIT = "submit"
    """Submit an eval set: the caller holds every group of the config's models."""
    SCAN = "scan"
    """Submit or resume a scan: every group of its scanners' models and of the eval sets it reads."""
    EDIT = "edit"
    """Change something that exists: view plus the edit permission."""
    DELETE = "delete"
    """Delete: the submitter or an administrator."""


async def authenticated_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller: the bearer token, else the access token of a signed-in browser's session cookie
    (``api.session_cookies``); on the event loop when that token was verified before (the common case), else verified
    in a worker thread (verifying may fetch the issuer's keys)."""
    from fastapi.concurrency import run_in_threadpool

    authenticator: Authenticator = request.app.state.authenticator
    header = authorization_of(request.scope, credentials)
    known = authenticator.known(header)
    if known is not None:
        return known
    principal: Principal = await run_in_threadpool(authenticator.principal, header)
    return principal


def authorization_of(scope: Scope, credentials: HTTPAuthorizationCredentials | None = None) -> str | None:
    """The request's ``Authorization`` header, or one made from its browser session's access token."""
    if credentials is not None:
        return f"{credentials.scheme} {credentials.credentials}"
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            return str(value.decode("latin-1"))
    session_token = scope.get(SESSION_TOKEN_KEY)
    return f"Bearer {session_token}" if isinstance(session_token, str) and session_token else None


class Requires:
    """A dependency that yields the authenticated principal and carries the permission its route declared."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, principal: Annotated[Principal, Depends(authenticated_principal)]) -> Principal:
        return principal

    def __repr__(self) -> str:
        return f"requires({self.permission.value})"


def requires(permission: Permission) -> Requires:
    return Requires(permission)


def declared_permission(route: object) -> Permission | None:
    """The permission a route declared through :func:`requires` anywhere in its dependencies, or None."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    if isinstance(route, Mount):  # a mounted app (Inspect's log API) declares its permission as an attribute
        declared = getattr(route.app, "permission", None)
        return declared if isinstance(declared, Permission) else None
    if not isinstance(route, APIRoute):
        return None
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Requires):
            return dependant.call.permission
        pending.extend(dependant.dependencies)
    return None


def app_routes(app: FastAPI) -> list[tuple[str, frozenset[str], object]]:
    """(full path, methods, route) of every route the app serves, included routers flattened (FastAPI includes
    routers lazily, so ``app.routes`` alone holds the routers, not their routes)."""
    from fastapi.routing import iter_route_contexts

    found: list[tuple[str, frozenset[str], object]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path or getattr(route, "path", repr(route)))
        methods: frozenset[str] = frozenset(getattr(route, "methods", None) or {"*"})
        found.append((path, methods, route))
    return found


def undeclared_routes(app: FastAPI, public: Collection[str]) -> list[str]:
    """``METHOD path`` of every route that neither declares a permission nor is in ``public``."""
    return [
        f"{','.join(sorted(methods))} {path}"
        for path, methods, route in app_routes(app)
        if path not in public and declared_permission(route) is None
    ]
