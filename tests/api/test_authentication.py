"""Sign-in over HTTP with real tokens from the OpenID provider fixture: missing or invalid tokens are 401 with a
challenge, valid ones reach the routes as their principal, and no cached answer outlives its token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from hawk_dagster.api.app import create_app
from hawk_dagster.api.server import UnsafeBindError, check_bind, is_loopback
from tests.api.conftest import MakeSettings, serving


@pytest.fixture
def signed_in_app(make_settings: MakeSettings, oidc_provider: Any) -> FastAPI:
    return create_app(make_settings(oidc=oidc_provider.settings()))


@pytest.fixture
def http(signed_in_app: FastAPI) -> Iterator[httpx.Client]:
    with serving(signed_in_app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def test_missing_and_invalid_tokens_are_401_with_a_challenge(http: httpx.Client, oidc_provider: Any) -> None:
    missing = http.get("/api/v1/eval-sets")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="hawk"'
    assert missing.json()["error"]["code"] == "unauthenticated"
    token = oidc_provider.token_for("alice", ["model-access-alpha"])
    for header in (f"Bearer {token[:-4]}xxxx", "Bearer not-a-jwt", f"Basic {token}", "Bearer"):
        response = http.get("/api/v1/eval-sets", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"].startswith('Bearer realm="hawk", error=')
        body = response.json()["error"]
        assert body["code"] == "unauthenticated" and token not in response.text
    # public routes need none
    assert http.get("/healthz").status_code == 200 and http.get("/readyz").status_code == 200
    assert http.get("/openapi.json").status_code == 200


def test_a_valid_token_is_the_caller(http: httpx.Client, oidc_provider: Any) -> None:
    token = oidc_provider.token_for("alice", ["model-access-alpha", "hawk:admin"])
    response = http.get("/api/v1/eval-sets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    submitted = http.post(
        "/api/v1/eval-sets",
        content="name: by alice\neval_set_id: es-alice\ntasks:\n  - package: inspect-ai\n    items: [{name: addition}]\n",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
    )
    assert submitted.status_code == 201, submitted.text


def test_the_cache_does_not_outlive_the_token(
    signed_in_app: FastAPI, oidc_provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hawk_dagster.api import authentication

    authenticator = signed_in_app.state.authenticator
    calls: list[str] = []
    verify = authenticator._verifier.verify

    def counting(token: str) -> Any:
        calls.append(token)
        return verify(token)

    monkeypatch.setattr(authenticator._verifier, "verify", counting)
    token = oidc_provider.token_for("bob", ["model-access-beta"])
    assert authenticator.known(f"Bearer {token}") is None  # never verified: not answered on the event loop
    first = authenticator.principal(f"Bearer {token}")
    assert authenticator.principal(f"Bearer {token}") == first and len(calls) == 1  # cached
    assert authenticator.known(f"Bearer {token}") == first
    assert first.subject == "bob" and first.groups == frozenset({"beta"}) and not first.is_admin
    expires_at = verify(token).expires_at
    real_time = authentication.time.time
    monkeypatch.setattr(authentication.time, "time", lambda: max(real_time(), expires_at) + 1)
    assert authenticator.known(f"Bearer {token}") is None  # past exp: not answered from the cache
    authenticator.principal(f"Bearer {token}")  # so verified again
    assert len(calls) == 2
    assert all(token not in key for key in authenticator._cache)  # keyed by hash, never the token


def test_local_mode_binds_to_loopback_only(make_settings: MakeSettings, oidc_provider: Any) -> None:
    local = make_settings()
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert is_loopback(host)
        check_bind(host, local)
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.invalid"):
        assert not is_loopback(host)
        with pytest.raises(UnsafeBindError, match="HAWK_OIDC_ISSUER"):
            check_bind(host, local)
    check_bind("0.0.0.0", make_settings(oidc=oidc_provider.settings()))  # with an issuer anyone may connect


def test_hawk_serve_refuses_a_public_host_without_an_issuer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from hawk_dagster.cli.main import cli

    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path))
    monkeypatch.delenv("HAWK_OIDC_ISSUER", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "loopback only" in result.output
    assert not (tmp_path / "pg").exists() and list(tmp_path.iterdir()) == []  # nothing started or created
