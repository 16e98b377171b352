"""The sign-in routes without a browser: local mode (no issuer: nothing to sign in to), a server with an issuer but
no web client, the https settings, the provider's error answers, and cross-site requests in local mode."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hawk_dagster.api.app import create_app
from hawk_dagster.api.settings import server_settings_from_env
from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import MakeSettings
from tests.auth.oidc_provider import OidcProvider

YAML = {"Content-Type": "application/yaml"}


def test_local_mode_has_nothing_to_sign_in_to(client: TestClient) -> None:
    login = client.get("/auth/login", params={"next": "/samples?eval_set=a&q=x%20y"}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/samples?eval_set=a&q=x%20y"
    assert "set-cookie" not in login.headers
    evil = client.get("/auth/login", params={"next": "https://evil.example"}, follow_redirects=False)
    assert evil.headers["location"] == "/"
    me = client.get("/auth/me")
    assert me.status_code == 200 and me.json() == {
        "subject": "local",
        "name": "local user",
        "groups": [],
        "is_admin": True,
        "can_edit": True,
    }
    logout = client.post("/auth/logout", follow_redirects=False)
    assert logout.status_code == 303 and logout.headers["location"] == "/"
    assert client.get("/auth/logout").status_code == 200  # the form


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "http://evil.example"}],
)
def test_local_mode_refuses_other_sites_pages_posting_in_the_local_users_name(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/eval-sets", content="name: [", headers={**YAML, **headers})
    assert response.status_code == 403 and response.json()["error"]["code"] == "cross_site_refused"


def test_local_mode_lets_the_cli_and_its_own_pages_post(client: TestClient) -> None:
    for headers in ({}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver"}):
        response = client.post("/api/v1/eval-sets", content="name: [", headers={**YAML, **headers})
        assert response.status_code == 422, (headers, response.text)


def test_an_issuer_without_a_web_client_has_no_browser_sign_in(
    make_settings: MakeSettings, oidc_provider: OidcProvider
) -> None:
    app = create_app(make_settings(oidc=oidc_provider.settings(client_id=None, web_client_id=None)))
    with TestClient(app, raise_server_exceptions=False) as http:
        login = http.get("/auth/login", follow_redirects=False)
        assert login.status_code == 404 and "HAWK_OIDC_WEB_CLIENT_ID" in login.json()["error"]["message"]
        page = http.get("/auth/me", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 401  # nowhere to send the browser: the API's answer


def test_behind_https_cookies_are_secure_and_the_public_url_is_the_origin(
    make_settings: MakeSettings, signin_overrides: dict[str, Any]
) -> None:
    app = create_app(make_settings(**signin_overrides, public_url="https://hawk.example"))
    with TestClient(app, raise_server_exceptions=False) as http:
        login = http.get("/auth/login", params={"next": "/x"}, follow_redirects=False)
        assert login.status_code == 303
        assert "redirect_uri=https%3A%2F%2Fhawk.example%2Fauth%2Fcallback" in login.headers["location"]
        assert "; Secure" in login.headers["set-cookie"] and "HttpOnly" in login.headers["set-cookie"]
        cookie = {"Cookie": "hawk_session=anything"}
        assert http.post("/auth/logout", headers={**cookie, "Origin": "http://testserver"}).status_code == 403
        out = http.post(
            "/auth/logout", headers={**cookie, "Origin": "https://hawk.example"}, follow_redirects=False
        )
        assert out.status_code == 303
        cleared = out.headers.get_list("set-cookie")
        assert any(c.startswith("hawk_session=;") and "Max-Age=0" in c and "Secure" in c for c in cleared)


def test_the_providers_refusal_is_shown_escaped(
    make_settings: MakeSettings, signin_overrides: dict[str, Any]
) -> None:
    with TestClient(create_app(make_settings(**signin_overrides)), raise_server_exceptions=False) as http:
        page = http.get(
            "/auth/callback", params={"error": "access_denied", "error_description": "<script>x()</script>"}
        )
        assert page.status_code == 400 and "text/html" in page.headers["content-type"]
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text
        stale = http.get("/auth/callback", params={"code": "c", "state": "s" * 32})
        assert stale.status_code == 400 and "expired or was started elsewhere" in stale.text


def test_settings_from_the_environment(tmp_path: Any) -> None:
    storage = StorageRoot(str(tmp_path))
    settings = server_settings_from_env(
        storage,
        "postgresql://x/y",
        {"HAWK_PUBLIC_URL": "https://hawk.example/", "HAWK_SESSION_SECRET": "s" * 40},
    )
    assert settings.public_url == "https://hawk.example" and settings.session_seal is not None
    for bad in ("hawk.example", "ftp://hawk.example", "https://hawk.example/?x=1"):
        with pytest.raises(ValueError, match="HAWK_PUBLIC_URL"):
            server_settings_from_env(storage, "postgresql://x/y", {"HAWK_PUBLIC_URL": bad})
    with pytest.raises(ValueError, match="HAWK_SESSION_SECRET"):
        server_settings_from_env(storage, "postgresql://x/y", {"HAWK_SESSION_SECRET": "short"})
    # HAWK_DEPLOYMENT (the chart sets kubernetes): status reports then include the pods
    assert settings.kubernetes is False
    kubernetes = server_settings_from_env(storage, "postgresql://x/y", {"HAWK_DEPLOYMENT": "kubernetes"})
    assert kubernetes.kubernetes is True
    with pytest.raises(ValueError, match="HAWK_DEPLOYMENT='k8s' is not a deployment"):
        server_settings_from_env(storage, "postgresql://x/y", {"HAWK_DEPLOYMENT": "k8s"})
