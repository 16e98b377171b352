"""Browser sign-in to ``hawk serve``: the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636) against the
same OpenID provider as the API, as the web client (``OidcSettings.browser_client_id``). No web framework here: the
routes (``api.routes.signin``) and the cookie layer (``api.session_cookies``) call these.

Where the tokens live: in the browser, in sealed cookies (``auth.cookie_seal``), not in a server-side session store.
The service runs as several replicas behind a load balancer and keeps no state of its own besides the warehouse; a
session table would be one more thing to migrate, expire and share, and every request would read it. Sealed cookies
need only the shared ``HAWK_SESSION_SECRET``. The price: a cookie cannot be revoked on the server before it ends, so
sign-out revokes the refresh token at the provider and access tokens are short-lived (the provider's setting).

- ``hawk_signin_<state>`` (10 minutes, one per sign-in under way, so two tabs signing in at once do not clash): the
  state, nonce, PKCE verifier and the page to return to.
- ``hawk_session``: the access token (a JWT for the API's audience, verified on every request as a bearer token
  is) and its expiry.
- ``hawk_refresh``: the refresh token (rotated on every refresh when the provider rotates) and the ID token (the
  hint for the provider's end-session endpoint; left out when the cookie would be too big).

All are HttpOnly, SameSite=Lax (sent on the provider's redirect back, a top-level GET; not on cross-site POSTs),
and Secure when the server is reached over https.

Refresh: when the access token is within :data:`REFRESH_MARGIN` of expiry, the cookie layer refreshes before the
request is answered and sends the new cookies. A browser asks many things at once (a page and its viewer's API
calls), all with the same refresh token; providers that rotate refresh tokens revoke the whole sign-in when a used
one comes back, so one refresh per refresh token is made and its result handed to the others for
:data:`REFRESH_GRACE` seconds (in this process; across replicas, the provider's own reuse interval must cover it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

from hawk_dagster.auth.oauth import ClientCredentials, OAuthError, exchange_code, refresh_tokens, revoke_token
from hawk_dagster.auth.token_store import StoredTokens

if TYPE_CHECKING:
    from hawk_dagster.auth.cookie_seal import CookieSeal
    from hawk_dagster.auth.discovery import ProviderMetadata
    from hawk_dagster.auth.settings import OidcSettings
    from hawk_dagster.auth.tokens import TokenVerifier

SESSION_COOKIE: Final = "hawk_session"
REFRESH_COOKIE: Final = "hawk_refresh"
LOGIN_COOKIE_PREFIX: Final = "hawk_signin_"
LOGIN_MAX_AGE: Final = 600
"""Seconds a sign-in may take at the provider."""
SESSION_MAX_AGE: Final = 14 * 24 * 3600
"""Seconds the session cookies live without a refresh (the provider's refresh-token lifetime may be shorter)."""
REFRESH_MARGIN: Final = 15.0
"""Refresh an access token this many seconds before it expires (clock skew, the request's own duration)."""
REFRESH_GRACE: Final = 60.0
"""Seconds the result of a refresh is handed to concurrent requests holding the same (now used) refresh token."""
MAX_COOKIE_BYTES: Final = 4000
"""Browsers keep cookies up to 4096 bytes, name and attributes included."""
DEFAULT_NEXT: Final = "/"
SIGN_IN_PATHS: Final = frozenset({"/auth/login", "/auth/callback", "/auth/logout"})
"""Never a place to return to after signing in (it would start over)."""


class SignInError(Exception):
    """Sign-in did not complete; the message is safe to show to the user (never a token). ``refused``: the provider
    said no (the sign-in is over), rather than could not be asked."""

    def __init__(self, message: str, *, refused: bool = True) -> None:
        super().__init__(message)
        self.refused = refused


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this server (``/...``, no scheme, no host, no ``//``, no backslash or control
    character that a browser would read as one; not sign-in itself), else ``/``: sign-in never redirects off the
    site."""
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in SIGN_IN_PATHS:
        return DEFAULT_NEXT
    return value


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoginStart:
    authorization_url: str
    cookie_name: str
    cookie_value: str


@dataclass(frozen=True)
class Session:
    """What the session cookies hold."""

    access_token: str
    expires_at: float
    refresh_token: str | None
    id_token: str | None

    def needs_refresh(self, now: float) -> bool:
        return self.expires_at - now <= REFRESH_MARGIN


@dataclass(frozen=True)
class SignedIn:
    tokens: StoredTokens
    next_path: str


class BrowserSignIn:
    """Sign-in, refresh and sign-out of browsers for one provider and web client; shared by the app's threads."""

    def __init__(self, settings: OidcSettings, verifier: TokenVerifier, seal: CookieSeal) -> None:
        client_id = settings.browser_client_id
        if client_id is None:
            raise ValueError("browser sign-in needs HAWK_OIDC_WEB_CLIENT_ID or HAWK_OIDC_CLIENT_ID")
        self.settings = settings
        self.verifier = verifier
        self.seal = seal
        self.client = ClientCredentials(client_id, settings.web_client_secret)
        self._metadata: ProviderMetadata | None = None
        self._lock = threading.Lock()
        self._refresh_locks: dict[str, threading.Lock] = {}
        self._refreshed: dict[str, tuple[StoredTokens, float]] = {}

    def metadata(self) -> ProviderMetadata:
        """The provider's endpoints (discovery, once per process; SignInError, not refused, when unreachable)."""
        from hawk_dagster.auth.discovery import DiscoveryError, fetch_metadata

        with self._lock:
            if self._metadata is None:
                try:
                    self._metadata = fetch_metadata(self.settings.issuer)
                except DiscoveryError as ex:
                    raise SignInError(str(ex), refused=False) from ex
            return self._metadata

    # -- signing in -------------------------------------------------------------------------------------------------

    def start(self, redirect_uri: str, next_path: str | None) -> LoginStart:
        """Where to send the browser, and the sealed cookie that proves the answer is to this sign-in."""
        endpoint = self.metadata().authorization_endpoint
        if endpoint is None:
            raise SignInError(
                f"the sign-in provider {self.settings.issuer} names no authorization_endpoint in its discovery "
                "document: browsers cannot sign in"
            )
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.settings.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": _pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if self.settings.audience:  # as `hawk login` does: Auth0 issues a JWT for the API only when asked
            params["audience"] = self.settings.audience
        sealed = self.seal.seal(
            "login", {"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next_path)}
        )
        separator = "&" if "?" in endpoint else "?"
        return LoginStart(f"{endpoint}{separator}{urlencode(params)}", LOGIN_COOKIE_PREFIX + state, sealed)

    def finish(self, sealed_login: str | None, state: str, code: str, redirect_uri: str) -> SignedIn:
        """Exchange the code (with the verifier of the sign-in that ``state`` names) and check what comes back: the
        access token as the API checks bearer tokens, the ID token's audience, signature and nonce."""
        login = self.seal.open("login", sealed_login, max_age=LOGIN_MAX_AGE)
        if login is None or not secrets.compare_digest(str(login.get("state", "")), state):
            raise SignInError("this sign-in expired or was started elsewhere: sign in again")
        try:
            tokens = exchange_code(
                self.metadata(),
                self.client,
                code=code,
                code_verifier=str(login["verifier"]),
                redirect_uri=redirect_uri,
            )
        except OAuthError as ex:
            raise SignInError(str(ex)) from ex
        self._check(tokens, nonce=str(login["nonce"]))
        return SignedIn(tokens, safe_next(str(login.get("next", DEFAULT_NEXT))))

    def _check(self, tokens: StoredTokens, *, nonce: str | None) -> None:
        from hawk_dagster.auth.tokens import InvalidTokenError

        try:
            self.verifier.verify(tokens.access_token)
        except InvalidTokenError as ex:
            raise SignInError(f"the provider's access token is not one this server accepts: {ex}") from ex
        if nonce is None:
            return
        if tokens.id_token is None:
            raise SignInError(
                "the sign-in provider returned no ID token (is `openid` among HAWK_OIDC_SCOPES?)"
            )
        try:
            id_token = self.verifier.verify(tokens.id_token, audience=self.client.client_id)
        except InvalidTokenError as ex:
            raise SignInError(f"the provider's ID token is not valid: {ex}") from ex
        if not secrets.compare_digest(str(id_token.claims.get("nonce", "")), nonce):
            raise SignInError("the ID token answers another sign-in (nonce mismatch): sign in again")

    # -- the session ------------------------------------------------------------------------------------------------

    def cookies_for(self, tokens: StoredTokens) -> dict[str, str]:
        """The session cookies' sealed values for these tokens."""
        session = self.seal.seal("session", {"at": tokens.access_token, "exp": tokens.expires_at})
        if len(session) > MAX_COOKIE_BYTES:
            raise SignInError(
                f"the provider's access token is too large to keep in a browser cookie ({len(session)} bytes sealed)"
            )
        cookies = {SESSION_COOKIE: session}
        if tokens.refresh_token is not None:
            refresh = self.seal.seal("refresh", {"rt": tokens.refresh_token, "idt": tokens.id_token})
            if len(refresh) > MAX_COOKIE_BYTES:  # keep signing in; sign-out then asks the provider to confirm
                refresh = self.seal.seal("refresh", {"rt": tokens.refresh_token, "idt": None})
            cookies[REFRESH_COOKIE] = refresh
        return cookies

    def session(self, session_cookie: str | None, refresh_cookie: str | None) -> Session | None:
        """The session the cookies hold, or None (no cookies, or altered, foreign, expired or mixed up ones)."""
        held = self.seal.open("session", session_cookie, max_age=SESSION_MAX_AGE)
        refresh = self.seal.open("refresh", refresh_cookie, max_age=SESSION_MAX_AGE)
        if held is None and refresh is None:
            return None
        access = held.get("at") if held else None
        expires = held.get("exp") if held else None
        refresh_token = refresh.get("rt") if refresh else None
        id_token = refresh.get("idt") if refresh else None
        return Session(
            access_token=access if isinstance(access, str) else "",
            expires_at=float(expires) if isinstance(expires, int | float) else 0.0,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            id_token=id_token if isinstance(id_token, str) and id_token else None,
        )

    def refresh(self, refresh_token: str) -> StoredTokens:
        """New tokens for a refresh token, made once however many requests ask at the same time (see the module
        docstring); the new access token is checked as at sign-in."""
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        with self._lock:
            lock = self._refresh_locks.setdefault(key, threading.Lock())
        with lock:
            now = time.time()
            cached = self._refreshed.get(key)
            if cached is not None and cached[1] > now:
                return cached[0]
            try:
                fresh = refresh_tokens(
                    self.settings,
                    self.metadata(),
                    StoredTokens(access_token="", expires_at=0.0, refresh_token=refresh_token),
                    client=self.client,
                )
            except OAuthError as ex:
                with self._lock:
                    self._refresh_locks.pop(key, None)
                raise SignInError(str(ex), refused=ex.code != "network") from ex
            self._check(fresh, nonce=None)
            with self._lock:
                self._refreshed[key] = (fresh, now + REFRESH_GRACE)
                for stale in [k for k, (_, until) in self._refreshed.items() if until <= now]:
                    del self._refreshed[stale]
                    self._refresh_locks.pop(stale, None)
            return fresh

    # -- signing out ------------------------------------------------------------------------------------------------

    def sign_out(self, session: Session | None, post_logout_redirect_uri: str) -> str | None:
        """Revoke the refresh token (best effort: the cookies go either way) and return the provider's end-session
        URL to send the browser to, or None when it has none."""
        if session is not None and session.refresh_token is not None:
            try:
                revoke_token(
                    self.settings, self.metadata(), session.refresh_token, "refresh_token", client=self.client
                )
            except (OAuthError, SignInError):
                pass
        try:
            endpoint = self.metadata().end_session_endpoint
        except SignInError:
            return None
        if endpoint is None:
            return None
        params: dict[str, Any] = {
            "client_id": self.client.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if session is not None and session.id_token is not None:
            params["id_token_hint"] = session.id_token
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"
