"""Every route declares its permission: a walk over the app's routes fails on any that does not (except the public
probes and the API's own description), and the app refuses to start with one."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI

from hawk_dagster.access.principal import Principal
from hawk_dagster.api.app import PUBLIC_PATHS, create_app
from hawk_dagster.api.permissions import (
    Permission,
    app_routes,
    authenticated_principal,
    declared_permission,
    requires,
    undeclared_routes,
)
from tests.api.conftest import MakeSettings

EXPECTED = {
    ("GET", "/api/v1/eval-sets"): Permission.VIEW,
    ("POST", "/api/v1/eval-sets"): Permission.SUBMIT,
    ("GET", "/api/v1/eval-sets/{eval_set_id}/evals"): Permission.VIEW,
    ("GET", "/api/v1/eval-sets/{eval_set_id}/status"): Permission.VIEW,
    ("GET", "/api/v1/eval-sets/{eval_set_id}/logs"): Permission.VIEW,
    ("GET", "/api/v1/eval-sets/{eval_set_id}/deletion"): Permission.DELETE,
    ("DELETE", "/api/v1/eval-sets/{eval_set_id}"): Permission.DELETE,
    ("POST", "/api/v1/sample-edits"): Permission.EDIT,
    ("GET", "/api/v1/sample-edits"): Permission.VIEW,
    ("GET", "/api/v1/samples"): Permission.VIEW,
    ("GET", "/api/v1/samples/export.csv"): Permission.VIEW,
    ("GET", "/api/v1/samples/{sample_uuid}"): Permission.VIEW,
    ("GET", "/api/v1/samples/{sample_uuid}/transcript"): Permission.VIEW,
    ("GET", "/api/v1/scans"): Permission.VIEW,
    ("POST", "/api/v1/scans"): Permission.SCAN,
    ("POST", "/api/v1/scans/{scan_id}/resume"): Permission.SCAN,
    ("GET", "/api/v1/scans/{scan_id}/results.csv"): Permission.VIEW,
    ("*", "/api"): Permission.VIEW,  # Inspect's log API (hawk_dagster.api.viewer)
    ("GET", "/auth/me"): Permission.VIEW,  # who a signed-in browser is
    ("GET", "/"): Permission.VIEW,  # the results pages (hawk_dagster.web)
    ("GET", "/eval-sets/{eval_set_id}"): Permission.VIEW,
    ("GET", "/compare"): Permission.VIEW,
    ("GET", "/scans"): Permission.VIEW,
    ("GET", "/scans/{scan_id}"): Permission.VIEW,
    ("GET", "/samples"): Permission.VIEW,
    ("GET", "/samples/{sample_uuid}"): Permission.VIEW,
    ("POST", "/samples/{sample_uuid}/edits"): Permission.EDIT,
}


def test_every_route_declares_its_permission(local_app: FastAPI) -> None:
    declared = {}
    for path, methods, route in app_routes(local_app):
        if path in PUBLIC_PATHS:
            continue
        permission = declared_permission(route)
        assert permission is not None, f"{sorted(methods)} {path} declares no permission"
        for method in methods:
            declared[(method, path)] = permission
    assert declared == EXPECTED
    assert PUBLIC_PATHS == {
        "/healthz",
        "/readyz",
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
        "/viewer",
        "/auth/login",  # browser sign-in itself (hawk_dagster.api.routes.signin)
        "/auth/callback",
        "/auth/logout",
        "/auth/signed-out",
        "/static",
    }


def test_the_audit_finds_a_route_without_one(local_app: FastAPI, make_settings: MakeSettings) -> None:
    @local_app.get("/api/v1/leak")
    def leak(principal: Annotated[Principal, Depends(authenticated_principal)]) -> dict[str, str]:
        return {}  # authenticated, but no permission declared: still a hole

    @local_app.get("/api/v1/fine")
    def fine(principal: Annotated[Principal, Depends(requires(Permission.VIEW))]) -> dict[str, str]:
        return {}

    assert undeclared_routes(local_app, PUBLIC_PATHS) == ["GET /api/v1/leak"]


def test_the_app_refuses_to_start_with_an_undeclared_route(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hawk_dagster.api.routes import health

    @health.router.get("/api/v1/sneaky")
    def sneaky() -> dict[str, str]:
        return {}

    try:
        with pytest.raises(RuntimeError, match="GET /api/v1/sneaky"):
            create_app(make_settings())
    finally:
        health.router.routes[:] = [
            r for r in health.router.routes if getattr(r, "path", "") != "/api/v1/sneaky"
        ]


def test_the_docs_describe_every_route(local_app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    with TestClient(local_app) as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert {route for route in EXPECTED if route[0] != "*" and route[1].startswith("/api/")} <= described
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
