"""Browsers signed in to a ``hawk serve`` through the real OpenID provider (tests/auth/oidc_provider.py): the login
and consent pages of the provider are filled in by Chromium as a person would, as the given test user.

Registered as a pytest plugin in tests/conftest.py. For page tests:

    def test_page(make_settings, signin_overrides, signed_in_context):
        with serving(create_app(make_settings(**signin_overrides))) as base_url:
            context = signed_in_context(base_url, "alice", ["model-access-alpha"])
            page = context.new_page(); page.goto(f"{base_url}/samples")

- ``signin_overrides``: the ``ServerSettings`` fields that turn browser sign-in on against the provider, with a
  session secret the tests know (``signin_seal`` opens the cookies, to check what they hold).
- ``signed_in_context(base_url, user, permissions, next_path=...)``: a fresh browser context signed in as ``user``
  (the provider's account gets ``permissions`` first); closed after the test.
- ``provider_login(page, provider, user)``: complete the provider's pages once the browser is on them.
- ``cookie_client(context, base_url)``: an httpx client carrying the context's cookies (no Authorization header).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from hawk_dagster.auth.cookie_seal import CookieSeal

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from tests.auth.oidc_provider import OidcProvider

SESSION_SECRET = secrets.token_urlsafe(48)
"""The session secret of test servers (per test session)."""
PROVIDER_STEPS = 6
"""Login, then consent (once per missing scope set): a sign-in takes a few pages at most."""


def signin_seal() -> CookieSeal:
    """Opens what the test servers seal (to check what a cookie holds)."""
    return CookieSeal([SESSION_SECRET])


@pytest.fixture
def signin_overrides(oidc_provider: OidcProvider) -> dict[str, Any]:
    """``ServerSettings`` fields for a server whose browsers sign in at the test provider."""
    return {"oidc": oidc_provider.settings(), "session_seal": signin_seal()}


def on_provider(page: Page, provider: OidcProvider) -> bool:
    return urlsplit(page.url).netloc == urlsplit(provider.issuer).netloc


def provider_login(page: Page, provider: OidcProvider, user: str) -> None:
    """Sign in as ``user`` on the provider's pages (any password) and consent, until the browser leaves them."""
    for _ in range(PROVIDER_STEPS):
        if not on_provider(page, provider):
            return
        login = page.locator("input[name=login]")
        with page.expect_navigation():
            if login.count():
                login.fill(user)
                page.locator("input[name=password]").fill("any password")
            page.locator("button[type=submit]").first.click()
    assert not on_provider(page, provider), f"still on the provider after {PROVIDER_STEPS} pages: {page.url}"


SignedInContext = Callable[..., "BrowserContext"]


@pytest.fixture
def signed_in_context(chromium: Browser, oidc_provider: OidcProvider) -> Iterator[SignedInContext]:
    """Factory of browser contexts signed in as a test user (see the module docstring)."""
    contexts: list[BrowserContext] = []

    def make(
        base_url: str,
        user: str,
        permissions: list[str],
        *,
        next_path: str = "/auth/me",
        **account: Any,
    ) -> BrowserContext:
        oidc_provider.set_account(user, permissions=permissions, **account)
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url}/auth/login?next={quote(next_path, safe='')}")
        provider_login(page, oidc_provider, user)
        assert page.url == f"{base_url}{next_path}", page.url
        page.close()
        return context

    yield make
    for context in contexts:
        context.close()


def cookie_client(context: BrowserContext, base_url: str) -> httpx.Client:
    """An httpx client on ``base_url`` with the browser context's cookies for it (no bearer token)."""
    host = urlsplit(base_url).hostname
    cookies = httpx.Cookies()
    for cookie in context.cookies(base_url):
        cookies.set(cookie["name"], cookie["value"], domain=host or "", path=cookie.get("path", "/"))
    return httpx.Client(base_url=base_url, cookies=cookies, timeout=30, follow_redirects=False)
