"""Browser sign-in routes (``auth.browser_signin`` does the work): ``/auth/login?next=``, ``/auth/callback``,
``/auth/logout`` (a form on GET, the act on POST, so no link on another site can sign anyone out), the signed-out
page, and ``/auth/me``, who the browser is signed in as (for the pages' header).

Without an issuer (local ``hawk serve``) there is nothing to sign in to: the local user is the administrator, login
goes straight to ``next`` and logout to ``/``.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hawk_dagster.access.principal import Principal
from hawk_dagster.api.errors import ApiError
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.session_cookies import (
    clearing_headers,
    cookie_header,
    is_https,
    request_cookies,
)
from hawk_dagster.auth.browser_signin import (
    LOGIN_COOKIE_PREFIX,
    LOGIN_MAX_AGE,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SignInError,
    safe_next,
)

if TYPE_CHECKING:
    from hawk_dagster.auth.browser_signin import BrowserSignIn

router = APIRouter(prefix="/auth", tags=["sign-in"])

PUBLIC_PATHS: Final = frozenset({"/auth/login", "/auth/callback", "/auth/logout", "/auth/signed-out"})
"""Sign-in itself cannot require a sign-in."""
_STATE: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A minimal page of its own (the results pages' layout is not needed to sign in or out)."""
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · hawk</title>"
        f"<meta name=viewport content='width=device-width'></head><body><main><h1>{html.escape(title)}</h1>"
        f"{body}</main></body></html>",
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _signin(request: Request) -> BrowserSignIn | None:
    """The app's browser sign-in; None in local mode; 404 when an issuer is set but no web client is."""
    signin: BrowserSignIn | None = request.app.state.browser_signin
    if signin is None and request.app.state.settings.oidc is not None:
        raise ApiError(
            404,
            "browser sign-in is not configured on this server: set HAWK_OIDC_WEB_CLIENT_ID (or HAWK_OIDC_CLIENT_ID)",
        )
    return signin


def _base_url(request: Request) -> str:
    public: str | None = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _secure(request: Request) -> bool:
    return is_https(request.scope, request.app.state.settings.public_url)


@router.get("/login", summary="Sign in with the deployment's OpenID provider, then go to `next`")
def login(request: Request, next: Annotated[str | None, Query(max_length=2048)] = None) -> Response:
    signin = _signin(request)
    if signin is None:
        return RedirectResponse(safe_next(next), status_code=303)
    try:
        start = signin.start(f"{_base_url(request)}/auth/callback", next)
    except SignInError as ex:
        return _page("Sign-in is unavailable", f"<p>{html.escape(str(ex))}</p>", 503)
    response = RedirectResponse(start.authorization_url, status_code=303)
    response.headers.append(
        "set-cookie",
        cookie_header(
            start.cookie_name,
            start.cookie_value,
            max_age=LOGIN_MAX_AGE,
            secure=_secure(request),
            path="/auth",
        ),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/callback", summary="Where the provider sends the browser back with an authorization code")
async def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    signin = _signin(request)
    if signin is None:
        return RedirectResponse("/", status_code=303)
    again = "<p><a href='/auth/login'>Sign in again</a></p>"
    if error is not None:
        detail = f"{error}: {error_description}" if error_description else error
        return _page(
            "Sign-in did not complete", f"<p>The provider said {html.escape(detail)}.</p>{again}", 400
        )
    if not code or not state or not _STATE.match(state):
        return _page("Sign-in did not complete", f"<p>The answer lacks its code or state.</p>{again}", 400)
    cookies = request_cookies({"cookie": request.headers.get("cookie", "")})
    try:
        signed_in = await anyio.to_thread.run_sync(
            signin.finish,
            cookies.get(LOGIN_COOKIE_PREFIX + state),
            state,
            code,
            f"{_base_url(request)}/auth/callback",
        )
        session_cookies = signin.cookies_for(signed_in.tokens)
    except SignInError as ex:
        return _page("Sign-in did not complete", f"<p>{html.escape(str(ex))}</p>{again}", 400)
    secure = _secure(request)
    response = RedirectResponse(signed_in.next_path, status_code=303)
    for name, value in session_cookies.items():
        response.headers.append(
            "set-cookie", cookie_header(name, value, max_age=SESSION_MAX_AGE, secure=secure)
        )
    if (
        REFRESH_COOKIE not in session_cookies and REFRESH_COOKIE in cookies
    ):  # a refresh token of an earlier sign-in
        response.headers.append("set-cookie", cookie_header(REFRESH_COOKIE, "", max_age=0, secure=secure))
    response.headers.append(
        "set-cookie", cookie_header(LOGIN_COOKIE_PREFIX + state, "", max_age=0, secure=secure, path="/auth")
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/logout", summary="A sign-out form (signing out is a POST)")
def logout_form(request: Request) -> Response:
    return _page(
        "Sign out",
        "<form method=post action='/auth/logout'><button type=submit>Sign out</button></form>",
    )


@router.post("/logout", summary="Sign out: cookies cleared, refresh token revoked, provider session ended")
async def logout(request: Request) -> Response:
    signin = _signin(request)
    if signin is None:
        return RedirectResponse("/", status_code=303)
    cookies = request_cookies({"cookie": request.headers.get("cookie", "")})
    session = signin.session(cookies.get(SESSION_COOKIE), cookies.get(REFRESH_COOKIE))
    end_session = await anyio.to_thread.run_sync(
        signin.sign_out, session, f"{_base_url(request)}/auth/signed-out"
    )
    response = RedirectResponse(end_session or "/auth/signed-out", status_code=303)
    for value in clearing_headers(
        {SESSION_COOKIE: "", REFRESH_COOKIE: "", **cookies}, secure=_secure(request)
    ):
        response.headers.append("set-cookie", value)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/signed-out", summary="The page after signing out")
def signed_out(request: Request) -> Response:
    return _page("Signed out", "<p>You are signed out of hawk.</p><p><a href='/auth/login'>Sign in</a></p>")


@router.get("/me", summary="Who this request is signed in as")
def me(principal: Annotated[Principal, Depends(requires(Permission.VIEW))]) -> dict[str, Any]:
    return {
        "subject": principal.subject,
        "name": principal.display_name or principal.subject,
        "groups": sorted(principal.groups),
        "is_admin": principal.is_admin,
        "can_edit": principal.can_edit,
    }
