"""The cookie layer's decisions without a provider: what it does with cookies it cannot use, and the CSRF rule."""

from __future__ import annotations

import socket
import time

import pytest
from starlette.applications import Starlette

from hawk_dagster.api.session_cookies import BrowserSessionMiddleware, cross_site_refusal
from hawk_dagster.auth.browser_signin import REFRESH_COOKIE, SESSION_COOKIE, BrowserSignIn
from hawk_dagster.auth.cookie_seal import CookieSeal
from hawk_dagster.auth.settings import OidcSettings
from hawk_dagster.auth.token_store import StoredTokens
from hawk_dagster.auth.tokens import TokenVerifier

SCOPE = {"type": "http", "scheme": "http", "path": "/samples", "headers": []}


def _layer() -> tuple[BrowserSessionMiddleware, BrowserSignIn]:
    with socket.socket() as sock:  # a provider that cannot be reached
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = OidcSettings(
        issuer=f"http://127.0.0.1:{port}", audience="api", client_id=None, scopes=(), web_client_id="web"
    )
    signin = BrowserSignIn(settings, TokenVerifier(settings), CookieSeal(["k" * 40]))
    return BrowserSessionMiddleware(Starlette(), signin=signin, public_url=None), signin


def test_a_refresh_that_cannot_reach_the_provider_keeps_the_sign_in() -> None:
    layer, signin = _layer()
    cookies = signin.cookies_for(
        StoredTokens(access_token="a.b.c", expires_at=time.time() + 5, refresh_token="r")
    )
    token, set_cookies = layer._session_token(cookies, SCOPE)
    assert token == "a.b.c" and set_cookies == []


def test_unusable_cookies_are_dropped() -> None:
    layer, signin = _layer()
    foreign = BrowserSignIn(signin.settings, signin.verifier, CookieSeal(["f" * 40]))
    cookies = foreign.cookies_for(
        StoredTokens(access_token="a.b.c", expires_at=time.time() + 600, refresh_token="r")
    )
    token, set_cookies = layer._session_token({**cookies, "hawk_signin_abc": "x"}, SCOPE)
    assert token is None
    assert sorted(c.split("=", 1)[0] for c in set_cookies) == sorted(
        [SESSION_COOKIE, REFRESH_COOKIE, "hawk_signin_abc"]
    )
    assert all("Max-Age=0" in c for c in set_cookies)


@pytest.mark.parametrize(
    ("method", "headers", "cookies", "refused"),
    [
        ("GET", {"sec-fetch-site": "cross-site"}, True, False),  # reading is not changing
        ("POST", {"authorization": "Bearer t", "origin": "http://evil"}, True, False),
        ("POST", {"sec-fetch-site": "same-origin"}, True, False),
        ("POST", {"origin": "http://hawk.test"}, True, False),
        ("POST", {"sec-fetch-site": "same-site", "origin": "http://hawk.test"}, True, True),
        ("DELETE", {"origin": "http://evil"}, True, True),
        ("POST", {}, True, True),
        ("POST", {}, False, False),  # no cookie, no browser signal: a command-line client
        ("POST", {"sec-fetch-site": "cross-site"}, False, True),
        ("PUT", {"origin": "null"}, False, True),
    ],
)
def test_the_cross_site_rule(method: str, headers: dict[str, str], cookies: bool, refused: bool) -> None:
    reason = cross_site_refusal(method, headers, "http://hawk.test", relies_on_cookies=cookies)
    assert (reason is not None) is refused, reason
