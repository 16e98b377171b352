"""The browser's session cookies on every request: the access token they hold handed to authentication, refreshed
when it is about to expire (new cookies on the answer), and cross-site state changes refused.

A browser opening Inspect's viewer page (``/viewer/``) without a sign-in is sent to sign in first, as a page would be.

What it leaves for the routes: ``scope["hawk.session_token"]``, the access token of a signed-in browser, which
``api.permissions.authenticated_principal`` and the viewer's log API verify exactly as a bearer token. A request
with an ``Authorization`` header is the API client's: its cookies are ignored and nothing here applies to it.

CSRF: cookies go with every request the browser makes to this site, whoever's page asked. A request that changes
something (any method but GET, HEAD, OPTIONS) and relies on cookies must come from our own pages: the browser's
``Sec-Fetch-Site`` says ``same-origin``, or (older browsers) its ``Origin`` is ours. Without either it is refused:
every browser that keeps cookies sends at least one of them on such requests. Requests without cookies or bearer
token are refused the same way when a browser says they come from another site (a page posting to a local
``hawk serve``, where no sign-in is needed, must not submit in the local user's name).
"""

from __future__ import annotations

import logging
import time
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit

import anyio.to_thread
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hawk_dagster.api.errors import error_response
from hawk_dagster.auth.browser_signin import (
    LOGIN_COOKIE_PREFIX,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SignInError,
)

if TYPE_CHECKING:
    from fastapi import Request
    from starlette.responses import Response

    from hawk_dagster.auth.browser_signin import BrowserSignIn

log = logging.getLogger(__name__)

SESSION_TOKEN_KEY: Final = "hawk.session_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX: Final = "/api"
VIEWER_PAGES: Final = frozenset({"/viewer", "/viewer/", "/viewer/index.html"})
"""Inspect's viewer page: public files, but useless signed out, so a browser without a session is sent to sign in."""
SESSION_FREE_PATHS: Final = frozenset({"/auth/callback", "/auth/logout"})
"""Paths that read the cookies themselves (a refresh before signing out would revoke the wrong refresh token)."""


def request_cookies(headers: dict[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header: no cookies (http.cookies raises CookieError and others)
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def own_origin(scope: Scope, headers: dict[str, str], public_url: str | None) -> str:
    """This server's origin as browsers see it: the public URL's when set, else the request's scheme and Host."""
    if public_url:
        parts = urlsplit(public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()
    host = headers.get("host") or "{}:{}".format(*scope.get("server") or ("localhost", 80))
    return f"{scope.get('scheme', 'http')}://{host}".lower()


def is_https(scope: Scope, public_url: str | None) -> bool:
    return (urlsplit(public_url).scheme if public_url else scope.get("scheme")) == "https"


def cookie_header(name: str, value: str, *, max_age: int, secure: bool, path: str = "/") -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, Secure over https; ``max_age=0`` deletes it."""
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clearing_headers(cookies: dict[str, str], *, secure: bool) -> list[str]:
    """``Set-Cookie`` values that delete every sign-in cookie the request carried."""
    out = []
    for name in cookies:
        if name in (SESSION_COOKIE, REFRESH_COOKIE):
            out.append(cookie_header(name, "", max_age=0, secure=secure))
        elif name.startswith(LOGIN_COOKIE_PREFIX):
            out.append(cookie_header(name, "", max_age=0, secure=secure, path="/auth"))
    return out


def cross_site_refusal(
    method: str, headers: dict[str, str], origin: str, *, relies_on_cookies: bool
) -> str | None:
    """Why a state-changing request must be refused as cross-site, or None when it may go on."""
    if method in SAFE_METHODS or "authorization" in headers:
        return None
    fetch_site = headers.get("sec-fetch-site")
    sent_origin = headers.get("origin")
    if fetch_site is not None:
        if fetch_site == "same-origin":
            return None
        return f"a cross-site request (Sec-Fetch-Site: {fetch_site}) may not change anything"
    if sent_origin is not None:
        if sent_origin.lower() == origin:
            return None
        return f"a request from another origin ({sent_origin[:100]}) may not change anything"
    if relies_on_cookies:
        return "a request signed in by cookie must say where it comes from (Origin or Sec-Fetch-Site)"
    return None


class BrowserSessionMiddleware:
    """See the module docstring. ``signin`` None: no browser sign-in (local mode, or no web client configured)."""

    def __init__(self, app: ASGIApp, *, signin: BrowserSignIn | None, public_url: str | None) -> None:
        self.app = app
        self.signin = signin
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cookies = request_cookies(headers) if "authorization" not in headers else {}
        signed_in = SESSION_COOKIE in cookies or REFRESH_COOKIE in cookies
        refusal = cross_site_refusal(
            scope["method"],
            headers,
            own_origin(scope, headers, self.public_url),
            relies_on_cookies=signed_in,
        )
        if refusal is not None:
            await error_response(403, f"{refusal} (CSRF protection)", code="cross_site_refused")(
                scope, receive, send
            )
            return
        set_cookies: list[str] = []
        token: str | None = None
        if signed_in and self.signin is not None and scope.get("path") not in SESSION_FREE_PATHS:
            token, set_cookies = await anyio.to_thread.run_sync(self._session_token, cookies, scope)
            if token is not None:
                scope[SESSION_TOKEN_KEY] = token
        if token is None and self._opens_viewer_signed_out(scope, headers):
            # the viewer's page is public (static files), but all it would show is its log API's 401
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            redirect = RedirectResponse(login_location(target), status_code=303)
            for value in set_cookies:
                redirect.headers.append("set-cookie", value)
            await redirect(scope, receive, send)
            return

        if not set_cookies:
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((b"set-cookie", value.encode("latin-1")) for value in set_cookies),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    def _opens_viewer_signed_out(self, scope: Scope, headers: dict[str, str]) -> bool:
        return (
            self.signin is not None
            and scope["method"] in ("GET", "HEAD")
            and scope.get("path") in VIEWER_PAGES
            and "authorization" not in headers
            and "text/html" in headers.get("accept", "")
        )

    def _session_token(self, cookies: dict[str, str], scope: Scope) -> tuple[str | None, list[str]]:
        """The access token to authenticate with and the cookies to set (blocking: a refresh calls the provider)."""
        assert self.signin is not None
        secure = is_https(scope, self.public_url)
        session = self.signin.session(cookies.get(SESSION_COOKIE), cookies.get(REFRESH_COOKIE))
        if session is None:  # altered, foreign or expired cookies: drop them
            return None, clearing_headers(cookies, secure=secure)
        if not session.needs_refresh(time.time()):
            return session.access_token, []
        if session.refresh_token is None:
            return (session.access_token or None), []
        try:
            tokens = self.signin.refresh(session.refresh_token)
            fresh = self.signin.cookies_for(tokens)
        except SignInError as ex:
            if not ex.refused:  # the provider could not be asked: keep the sign-in, try again next request
                log.warning(
                    "a browser session could not be refreshed (%s); trying again on its next request", ex
                )
                return (session.access_token or None), []
            log.info("a browser session's refresh was refused (%s); its cookies are cleared", ex)
            return None, clearing_headers(cookies, secure=secure)
        return tokens.access_token, [
            cookie_header(name, value, max_age=SESSION_MAX_AGE, secure=secure)
            for name, value in fresh.items()
        ]


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and request.method in ("GET", "HEAD")


def sign_in_redirect(request: Request) -> Response | None:
    """For a page asked for without a valid sign-in: the redirect to sign-in, back to the same path and query.
    None for the API (``/api/...``, or a client that does not ask for HTML): it answers 401."""
    path = request.url.path
    if getattr(request.app.state, "browser_signin", None) is None or not wants_html(request):
        return None
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return None
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(login_location(target), status_code=303)


def login_location(target: str) -> str:
    """Sign-in, returning to ``target`` (a path and query on this site)."""
    return f"/auth/login?next={quote(target, safe='')}"
