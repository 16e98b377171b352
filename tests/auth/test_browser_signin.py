"""Browser sign-in's rules that need no provider: where sign-in may return to, and what the cookies hold."""

from __future__ import annotations

import pytest

from hawk_dagster.auth.browser_signin import (
    MAX_COOKIE_BYTES,
    REFRESH_COOKIE,
    REFRESH_MARGIN,
    SESSION_COOKIE,
    BrowserSignIn,
    SignInError,
    safe_next,
)
from hawk_dagster.auth.cookie_seal import CookieSeal
from hawk_dagster.auth.settings import OidcSettings
from hawk_dagster.auth.token_store import StoredTokens
from hawk_dagster.auth.tokens import TokenVerifier

SETTINGS = OidcSettings(
    issuer="https://id.example", audience="api", client_id=None, scopes=("openid",), web_client_id="web"
)


@pytest.mark.parametrize(
    "value",
    ["/", "/samples?eval_set=a&eval_set=b&q=x%20y", "/eval-sets/es-1#cell", "/viewer/?log_dir=x", "/auth/me"],
)
def test_paths_on_this_site_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        "evil.example",
        "/auth/login?next=/x",
        "/auth/callback?code=x",
        "/auth/logout",
        "/" + "a" * 3000,
    ],
)
def test_anything_else_returns_to_the_start_page(value: str | None) -> None:
    assert safe_next(value) == "/"


def _signin() -> BrowserSignIn:
    return BrowserSignIn(SETTINGS, TokenVerifier(SETTINGS), CookieSeal(["x" * 40]))


def test_cookies_hold_the_tokens_and_read_back() -> None:
    signin = _signin()
    tokens = StoredTokens(access_token="a.b.c", expires_at=1000.0, refresh_token="r1", id_token="i.d.t")
    cookies = signin.cookies_for(tokens)
    session = signin.session(cookies[SESSION_COOKIE], cookies[REFRESH_COOKIE])
    assert session is not None
    assert (session.access_token, session.expires_at, session.refresh_token, session.id_token) == (
        "a.b.c",
        1000.0,
        "r1",
        "i.d.t",
    )
    assert session.needs_refresh(1000.0 - REFRESH_MARGIN) and not session.needs_refresh(
        1000.0 - REFRESH_MARGIN - 1
    )
    assert signin.session(None, None) is None
    assert signin.session(cookies[REFRESH_COOKIE], cookies[SESSION_COOKIE]) is None  # swapped: neither opens
    no_refresh = signin.cookies_for(StoredTokens(access_token="a.b.c", expires_at=1.0))
    assert set(no_refresh) == {SESSION_COOKIE}


def test_cookie_size_limits() -> None:
    signin = _signin()
    big_id_token = "i" * 3500
    cookies = signin.cookies_for(
        StoredTokens(access_token="a.b.c", expires_at=1.0, refresh_token="r", id_token=big_id_token)
    )
    assert len(cookies[REFRESH_COOKIE]) <= MAX_COOKIE_BYTES
    session = signin.session(cookies[SESSION_COOKIE], cookies[REFRESH_COOKIE])
    assert session is not None and session.refresh_token == "r" and session.id_token is None  # hint dropped
    with pytest.raises(SignInError, match="too large"):
        signin.cookies_for(StoredTokens(access_token="a" * 3500, expires_at=1.0))


def test_a_sign_in_answer_needs_its_own_sealed_state() -> None:
    signin = _signin()
    with pytest.raises(SignInError, match="expired or was started elsewhere"):
        signin.finish(None, "state", "code", "https://hawk.example/auth/callback")
    other = signin.seal.seal("login", {"state": "another", "nonce": "n", "verifier": "v", "next": "/"})
    with pytest.raises(SignInError, match="expired or was started elsewhere"):
        signin.finish(other, "state", "code", "https://hawk.example/auth/callback")


def test_browser_sign_in_needs_a_client() -> None:
    settings = OidcSettings(issuer="https://id.example", audience="api", client_id=None, scopes=())
    with pytest.raises(ValueError, match="HAWK_OIDC_WEB_CLIENT_ID"):
        BrowserSignIn(settings, TokenVerifier(settings), CookieSeal(["x" * 40]))


def test_an_unreachable_provider_is_not_a_refusal() -> None:
    settings = OidcSettings(
        issuer=f"http://127.0.0.1:{_closed_port()}",
        audience="api",
        client_id=None,
        scopes=(),
        web_client_id="web",
    )
    signin = BrowserSignIn(settings, TokenVerifier(settings), CookieSeal(["x" * 40]))
    with pytest.raises(SignInError) as error:
        signin.refresh("a refresh token")
    assert not error.value.refused


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
