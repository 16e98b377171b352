"""Browser sign-in end to end: headless Chromium signs in through the real OpenID provider (authorization code +
PKCE), then the API, ``/auth/me`` and the Inspect viewer's log API answer with the cookie; refresh with rotation,
sign-out at the provider, tampered and foreign cookies, open redirects and cross-site requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser

from hawk_dagster.api.app import create_app
from hawk_dagster.auth.browser_signin import REFRESH_COOKIE, REFRESH_MARGIN, SESSION_COOKIE
from hawk_dagster.auth.cookie_seal import CookieSeal
from tests.api.conftest import MakeSettings, serving
from tests.auth.oidc_provider import WEB_CLIENT_ID, OidcProvider
from tests.web.browser import save_screenshot, serving_html
from tests.web.signin_fixtures import (
    SignedInContext,
    cookie_client,
    on_provider,
    provider_login,
    signin_seal,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser-signin")]

ALICE = ["model-access-alpha"]
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def base_url(make_settings: MakeSettings, signin_overrides: dict[str, Any]) -> Iterator[str]:
    with serving(create_app(make_settings(**signin_overrides))) as url:
        yield url


def cookies_of(context: Any, base_url: str) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies(base_url)}


def test_sign_in_lands_on_the_requested_url_with_its_query(
    base_url: str, chromium: Browser, oidc_provider: OidcProvider
) -> None:
    oidc_provider.set_account("alice", permissions=ALICE)
    context = chromium.new_context()
    try:
        page = context.new_page()
        wanted = "/auth/me?eval_set=es-alpha&q=a%20b&x=1&x=2"
        page.goto(base_url + wanted)  # a page without sign-in: to sign-in, remembering where to return
        assert on_provider(page, oidc_provider), page.url
        provider_login(page, oidc_provider, "alice")
        assert page.url == base_url + wanted
        me = page.evaluate("() => JSON.parse(document.body.innerText)")
        assert me["subject"] == "alice" and me["name"] == "alice@hawk.test" and me["groups"] == ["alpha"]
        assert not me["is_admin"]

        cookies = {c["name"]: c for c in context.cookies(base_url)}
        for name in (SESSION_COOKIE, REFRESH_COOKIE):
            assert cookies[name]["httpOnly"] and cookies[name]["sameSite"] == "Lax", cookies[name]
            assert not cookies[name]["secure"]  # plain http on loopback; https deployments get Secure
        assert not [name for name in cookies if name.startswith("hawk_signin_")]  # the sign-in state is spent
        session = signin_seal().open("session", cookies[SESSION_COOKIE]["value"], max_age=60)
        assert session is not None and session["at"].count(".") == 2  # the access token, sealed
        assert "alice" not in cookies[SESSION_COOKIE]["value"]

        # the API with the cookie, filtered by alice's groups as with her bearer token
        listing = context.request.get(f"{base_url}/api/v1/eval-sets")
        assert listing.status == 200, listing.text()
        assert [item["eval_set_id"] for item in listing.json()["items"]] == ["es-alpha"]
        # the Inspect viewer's log API with the cookie: her eval set's logs, not another group's
        files = context.request.get(f"{base_url}/api/log-files", params={"log_dir": "es-alpha"})
        assert files.status == 200 and files.json()["files"], files.text()
        name = files.json()["files"][0]["name"]
        log = context.request.get(f"{base_url}/api/logs/{name}", params={"header-only": "100"})
        assert log.status == 200 and log.json()["eval"]["model"] == "hawk-mock/alpha"
        assert context.request.get(f"{base_url}/api/log-files", params={"log_dir": "es-beta"}).status == 404
        # the viewer itself, reading through that API with the cookie only, shows her log's samples
        page.goto(f"{base_url}/viewer/?inspect_server=true&log_dir=es-alpha")
        page.get_by_text("Reply with the number only").first.wait_for(timeout=30_000)
        save_screenshot(page, "viewer-signed-in")
    finally:
        context.close()


def test_api_requests_without_sign_in_answer_401_json(base_url: str) -> None:
    html = {"Accept": "text/html"}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for path in ("/api/v1/eval-sets", "/api/log-files?log_dir=es-alpha"):
            response = http.get(path, headers=html)
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
        assert http.get("/auth/me").status_code == 401  # not asking for HTML: an API answer
        page = http.get("/auth/me?a=1", headers=html)
        assert page.status_code == 303
        assert page.headers["location"] == "/auth/login?next=" + quote("/auth/me?a=1", safe="")
        viewer = http.get("/viewer/?inspect_server=true&log_dir=es-alpha", headers=html)
        assert viewer.status_code == 303  # the viewer's page is public, but signed out it could show nothing
        assert viewer.headers["location"] == "/auth/login?next=" + quote(
            "/viewer/?inspect_server=true&log_dir=es-alpha", safe=""
        )
        assert http.get("/viewer/assets/index.js").status_code == 200
        login = http.get(page.headers["location"])
        assert login.status_code == 303
        query = parse_qs(urlsplit(login.headers["location"]).query)
        assert query["client_id"] == [WEB_CLIENT_ID] and query["code_challenge_method"] == ["S256"]
        assert query["redirect_uri"] == [f"{base_url}/auth/callback"] and query["response_type"] == ["code"]
        assert len(query["code_challenge"][0]) == 43 and len(query["state"][0]) >= 32 and query["nonce"]
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"hawk_signin_{query['state'][0]}=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/auth" in cookie
        assert (
            query["state"][0] not in cookie.split("=", 1)[1]
        )  # the verifier and nonce are sealed, not shown


def test_refresh_after_expiry_rotates_the_refresh_token(
    base_url: str, signed_in_context: SignedInContext, oidc_provider: OidcProvider
) -> None:
    ttl = int(REFRESH_MARGIN) + 2  # due for refresh two seconds after it is issued
    context = signed_in_context(base_url, "bob", ["model-access-beta"], access_token_ttl=ttl)
    seal = signin_seal()
    before = cookies_of(context, base_url)
    first = seal.open("session", before[SESSION_COOKIE], max_age=60)
    first_refresh = seal.open("refresh", before[REFRESH_COOKIE], max_age=60)
    assert first is not None and first_refresh is not None
    assert context.request.get(f"{base_url}/auth/me").json()["groups"] == ["beta"]
    assert cookies_of(context, base_url) == before  # not due yet: nothing refreshed

    time.sleep(2.5)
    oidc_provider.set_account("bob", permissions=["model-access-beta", "model-access-gamma"])
    me = context.request.get(f"{base_url}/auth/me")
    assert me.status == 200 and me.json()["groups"] == [
        "beta",
        "gamma",
    ]  # a new token, with today's permissions
    after = cookies_of(context, base_url)
    second = seal.open("session", after[SESSION_COOKIE], max_age=60)
    second_refresh = seal.open("refresh", after[REFRESH_COOKIE], max_age=60)
    assert second is not None and second_refresh is not None
    assert second["at"] != first["at"] and second["exp"] > first["exp"]
    assert (
        second_refresh["rt"] != first_refresh["rt"]
    )  # rotated, and the rotated one is what the browser keeps
    # several requests at once with the same cookies refresh once (a second use of a rotated refresh token would
    # make the provider revoke the sign-in)
    time.sleep(2.5)
    cookie = "; ".join(f"{name}={value}" for name, value in after.items())

    def get(path: str) -> httpx.Response:
        return httpx.get(f"{base_url}{path}", headers={"Cookie": cookie}, timeout=30)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(get, ["/api/v1/eval-sets", "/auth/me", "/api/v1/samples", "/auth/me"]))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    rotated = set()
    for response in responses:
        jar = SimpleCookie(response.headers.get_list("set-cookie")[-1])
        opened = (
            seal.open("refresh", jar[REFRESH_COOKIE].value, max_age=60) if REFRESH_COOKIE in jar else None
        )
        assert opened is not None, response.headers.get_list("set-cookie")
        rotated.add(opened["rt"])
    assert len(rotated) == 1 and second_refresh["rt"] not in rotated
    again = httpx.get(
        f"{base_url}/auth/me", headers={"Cookie": f"{REFRESH_COOKIE}={jar[REFRESH_COOKIE].value}"}
    )
    assert (
        again.status_code == 200 and again.json()["subject"] == "bob"
    )  # the provider did not revoke the sign-in
    # the retired refresh token is refused by the provider
    stale = httpx.post(
        f"{oidc_provider.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": first_refresh["rt"]},
        auth=(WEB_CLIENT_ID, oidc_provider.web_client_secret),
        timeout=30,
    )
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_logout_clears_the_cookies_and_ends_the_provider_session(
    base_url: str, signed_in_context: SignedInContext, oidc_provider: OidcProvider
) -> None:
    context = signed_in_context(base_url, "carol", ["model-access-gamma"])
    refresh = signin_seal().open("refresh", cookies_of(context, base_url)[REFRESH_COOKIE], max_age=60)
    assert refresh is not None
    page = context.new_page()
    page.goto(f"{base_url}/auth/logout")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    if on_provider(page, oidc_provider):  # the provider asks to confirm signing out of it too
        with page.expect_navigation():
            page.locator("button[autofocus], button[type=submit]").first.click()
    assert page.url == f"{base_url}/auth/signed-out", page.url
    assert not {SESSION_COOKIE, REFRESH_COOKIE} & set(cookies_of(context, base_url))
    assert context.request.get(f"{base_url}/auth/me", headers={"Accept": "application/json"}).status == 401
    # the refresh token was revoked at the provider
    revoked = httpx.post(
        f"{oidc_provider.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh["rt"]},
        auth=(WEB_CLIENT_ID, oidc_provider.web_client_secret),
        timeout=30,
    )
    assert revoked.status_code == 400
    # and the provider's session ended: signing in again asks for the login
    page.goto(f"{base_url}/auth/me")
    assert on_provider(page, oidc_provider) and page.locator("input[name=login]").count() == 1


def _flip(value: str) -> str:
    middle = len(value) // 2
    return value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]


def test_tampered_foreign_and_swapped_cookies_are_refused(
    base_url: str, signed_in_context: SignedInContext
) -> None:
    context = signed_in_context(base_url, "dave", ALICE)
    good = cookies_of(context, base_url)
    with cookie_client(context, base_url) as http:
        assert http.get("/auth/me").json()["subject"] == "dave"
    foreign = CookieSeal(["another server's secret, long enough to be one"])
    access = signin_seal().open("session", good[SESSION_COOKIE], max_age=60)
    assert access is not None
    bad_jars = {
        "tampered session": {SESSION_COOKIE: _flip(good[SESSION_COOKIE])},
        "tampered both": {
            SESSION_COOKIE: _flip(good[SESSION_COOKIE]),
            REFRESH_COOKIE: _flip(good[REFRESH_COOKIE]),
        },
        "foreign secret": {SESSION_COOKIE: foreign.seal("session", access)},
        "swapped purposes": {SESSION_COOKIE: good[REFRESH_COOKIE]},
        "a raw token": {SESSION_COOKIE: access["at"]},
    }
    for label, jar in bad_jars.items():
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
        with httpx.Client(base_url=base_url, timeout=30) as http:
            response = http.get("/auth/me", headers={"Cookie": cookie})
            assert response.status_code == 401, label
            assert f"{SESSION_COOKIE}=;" in response.headers.get("set-cookie", ""), label  # dropped
            page = http.get("/auth/me", headers={"Cookie": cookie, "Accept": "text/html"})
            assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next="), label


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "https:evil.example",
        "/\t/evil.example",
    ],
)
def test_sign_in_never_redirects_off_the_site(
    base_url: str, chromium: Browser, oidc_provider: OidcProvider, next_path: str
) -> None:
    oidc_provider.set_account("erin", permissions=ALICE)
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base_url}/auth/login?next={quote(next_path, safe='')}")
        provider_login(page, oidc_provider, "erin")
        assert page.url == f"{base_url}/", page.url
    finally:
        context.close()


@pytest.fixture
def other_site() -> Iterator[str]:
    """A page on another origin that posts a form to the URL in its query (a CSRF attempt)."""
    body = (
        b"<!doctype html><form id=f method=post enctype=text/plain><input name=x value=y></form><script>"
        b"const f = document.getElementById('f'); f.action = new URLSearchParams(location.search).get('to');"
        b"f.submit();</script>"
    )
    with serving_html(body) as url:
        yield url.rstrip("/")


def test_cross_site_requests_with_the_cookie_are_refused(
    base_url: str,
    signed_in_context: SignedInContext,
    oidc_provider: OidcProvider,
    other_site: str,
) -> None:
    context = signed_in_context(base_url, "frank", ALICE)
    # in the browser: another site's page posts a form here (cookies go along: same site, other port)
    page = context.new_page()
    site = other_site
    page.goto(f"{site}/?to={quote(base_url + '/api/v1/eval-sets', safe='')}")
    page.wait_for_url(f"{base_url}/api/v1/eval-sets")
    refused = page.evaluate("() => JSON.parse(document.body.innerText)")
    assert refused["error"]["code"] == "cross_site_refused", refused
    page.goto(f"{site}/?to={quote(base_url + '/auth/logout', safe='')}")
    page.wait_for_url(f"{base_url}/auth/logout")
    assert SESSION_COOKIE in cookies_of(context, base_url)  # no one else's page signs anyone out
    # the same from the server's own origin goes through (here: to the body check)
    own = context.request.post(
        f"{base_url}/api/v1/eval-sets", data="name: [", headers={**YAML, "Origin": base_url}
    )
    assert own.status == 422, own.text()
    with cookie_client(context, base_url) as http:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": base_url},
            {},  # says nothing about where it comes from
        ):
            response = http.post("/api/v1/eval-sets", content="name: [", headers={**YAML, **headers})
            assert response.status_code == 403, headers
            assert response.json()["error"]["code"] == "cross_site_refused"
        assert (
            http.post(
                "/api/v1/eval-sets", content="name: [", headers={**YAML, "Sec-Fetch-Site": "same-origin"}
            ).status_code
            == 422
        )
    # a bearer-token request is not the browser's: where it says it comes from does not matter
    token = oidc_provider.token_for("frank", ALICE)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        response = http.post(
            "/api/v1/eval-sets",
            content="name: [",
            headers={**YAML, "Authorization": f"Bearer {token}", "Origin": "http://evil.example"},
        )
        assert response.status_code == 422, response.text
