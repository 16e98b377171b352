"""Where to sign in: the OpenID provider (issuer), the API's audience and the CLI's client, from ``HAWK_OIDC_*``.

One settings object serves both sides: ``hawk serve`` verifies tokens issued by ``issuer`` for ``audience``; ``hawk
login`` asks ``issuer`` for such tokens as the public client ``client_id``; browsers sign in to ``hawk serve`` as
``web_client_id`` (else ``client_id``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ISSUER_ENV = "HAWK_OIDC_ISSUER"
AUDIENCE_ENV = "HAWK_OIDC_AUDIENCE"
CLIENT_ID_ENV = "HAWK_OIDC_CLIENT_ID"
SCOPES_ENV = "HAWK_OIDC_SCOPES"
PERMISSIONS_CLAIM_ENV = "HAWK_OIDC_PERMISSIONS_CLAIM"
JWKS_URI_ENV = "HAWK_OIDC_JWKS_URI"
WEB_CLIENT_ID_ENV = "HAWK_OIDC_WEB_CLIENT_ID"
WEB_CLIENT_SECRET_ENV = "HAWK_OIDC_WEB_CLIENT_SECRET"

DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")
"""``offline_access`` asks for a refresh token, so a login lasts longer than one access token."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class OidcSettingsError(ValueError):
    """A ``HAWK_OIDC_*`` variable is missing or malformed; the message names it and what is allowed."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    """The provider's issuer URL, exactly as its tokens' ``iss`` (and its discovery document) say."""
    audience: str
    """The ``aud`` of access tokens for the API (Auth0 "audience", RFC 8707 resource indicator)."""
    client_id: str | None
    """The public client the CLI signs in as (device flow); the server does not need it."""
    scopes: tuple[str, ...]
    permissions_claim: str = "permissions"
    """The access-token claim holding the user's permissions: ``permissions``, ``scp``, ``groups``, any claim name
    (a dotted path such as ``realm_access.roles`` reaches into an object)."""
    jwks_uri: str | None = None
    """The provider's key set; found through discovery when None."""
    web_client_id: str | None = None
    """The client the server signs browsers in as (authorization code + PKCE); ``client_id`` when None. A separate
    client when the provider keeps device-flow and redirect clients apart (most do: a redirect URI is registered
    per client)."""
    web_client_secret: str | None = field(default=None, repr=False)
    """The web client's secret when the provider registers it as confidential; None: a public client (PKCE only)."""

    @property
    def browser_client_id(self) -> str | None:
        """The client of browser sign-in, or None when neither client id is set (browser sign-in is off)."""
        return self.web_client_id or self.client_id


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OidcSettingsError(f"{name} must be an http(s) URL, got {value!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise OidcSettingsError(
            f"{name} must use https (plain http is allowed on loopback only), got {value!r}"
        )
    return value


def oidc_settings_from_env(environ: Mapping[str, str] = os.environ) -> OidcSettings | None:
    """The sign-in settings, or None when ``HAWK_OIDC_ISSUER`` is unset (no sign-in configured)."""
    issuer = environ.get(ISSUER_ENV, "").strip()
    if not issuer:
        return None
    _check_url(ISSUER_ENV, issuer)
    audience = environ.get(AUDIENCE_ENV, "").strip()
    if not audience:
        raise OidcSettingsError(
            f"{AUDIENCE_ENV} is required when {ISSUER_ENV} is set: the audience (`aud`) of the API's access tokens"
        )
    scopes = tuple(environ.get(SCOPES_ENV, "").split()) or DEFAULT_SCOPES
    claim = environ.get(PERMISSIONS_CLAIM_ENV, "").strip() or "permissions"
    jwks_uri = environ.get(JWKS_URI_ENV, "").strip() or None
    if jwks_uri is not None:
        _check_url(JWKS_URI_ENV, jwks_uri)
    return OidcSettings(
        issuer=issuer,
        audience=audience,
        client_id=environ.get(CLIENT_ID_ENV, "").strip() or None,
        scopes=scopes,
        permissions_claim=claim,
        jwks_uri=jwks_uri,
        web_client_id=environ.get(WEB_CLIENT_ID_ENV, "").strip() or None,
        web_client_secret=environ.get(WEB_CLIENT_SECRET_ENV, "").strip() or None,
    )
