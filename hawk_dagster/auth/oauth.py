"""OAuth 2.0 calls to the provider: the CLI's device authorization grant (RFC 8628) as a public client, the browser
sign-in's code exchange (RFC 6749 §4.1 with PKCE, RFC 7636) as the web client, and for both refresh (keeping the
rotated refresh token) and revocation (RFC 7009).

Messages are safe to show: they carry the provider's error code and description, never a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from hawk_dagster.auth.discovery import ProviderMetadata
from hawk_dagster.auth.settings import OidcSettings
from hawk_dagster.auth.token_store import StoredTokens

TIMEOUT = httpx.Timeout(30.0)
DEFAULT_INTERVAL = 5
"""RFC 8628 §3.2: poll every 5 s when the provider does not say."""
SLOW_DOWN_STEP = 5
"""RFC 8628 §3.5: after ``slow_down``, poll 5 s less often from then on."""
MAX_NETWORK_FAILURES = 3


class OAuthError(Exception):
    """The provider refused or could not be reached; ``code`` is the OAuth error code when it sent one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        return body["error"], f"{body['error']}: {description}" if isinstance(description, str) else body[
            "error"
        ]
    return None, f"HTTP {response.status_code}"


@dataclass(frozen=True)
class ClientCredentials:
    """Who calls the token endpoint: a public client (id only, sent in the form) or a confidential one (HTTP Basic,
    RFC 6749 §2.3.1)."""

    client_id: str
    secret: str | None = field(default=None, repr=False)

    def apply(self, data: dict[str, str]) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        if self.secret is None:
            return {**data, "client_id": self.client_id}, None
        return data, httpx.BasicAuth(quote(self.client_id, safe=""), quote(self.secret, safe=""))


def _cli_client(settings: OidcSettings) -> ClientCredentials:
    assert settings.client_id is not None
    return ClientCredentials(settings.client_id)


def _post(
    url: str, data: dict[str, str], client: httpx.Client | None, auth: httpx.BasicAuth | None = None
) -> httpx.Response:
    try:
        if client is not None:
            return client.post(url, data=data, auth=auth) if auth is not None else client.post(url, data=data)
        return httpx.post(url, data=data, timeout=TIMEOUT, auth=auth)
    except httpx.HTTPError as ex:
        raise OAuthError(f"could not reach the sign-in provider at {url}: {ex}", "network") from ex


def tokens_from_response(body: Any, previous_refresh_token: str | None = None) -> StoredTokens:
    """A token response (RFC 6749 §5.1) as stored tokens; a refresh that returns no new refresh token keeps the
    previous one, one that returns a new one replaces it (rotation)."""
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise OAuthError("the sign-in provider's token response has no access_token")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        expires_at = time.time() + float(expires_in)
    else:
        expires_at = _jwt_expiry(body["access_token"]) or time.time() + 300
    refresh = body.get("refresh_token")
    return StoredTokens(
        access_token=body["access_token"],
        expires_at=expires_at,
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous_refresh_token,
        id_token=body.get("id_token") if isinstance(body.get("id_token"), str) else None,
        scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
    )


def _jwt_expiry(token: str) -> float | None:
    """``exp`` of a JWT access token, read without verification (only to know when to refresh)."""
    import jwt

    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(exp) if isinstance(exp, int | float) else None


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def start_device_authorization(settings: OidcSettings, metadata: ProviderMetadata) -> DeviceAuthorization:
    if metadata.device_authorization_endpoint is None:
        raise OAuthError(
            f"the sign-in provider {settings.issuer} does not offer the device authorization grant "
            "(no device_authorization_endpoint in its discovery document)"
        )
    assert settings.client_id is not None
    data = {"client_id": settings.client_id, "scope": " ".join(settings.scopes)}
    if settings.audience:
        # Auth0 needs `audience` to issue a JWT for the API; providers that know the API otherwise (a default
        # resource, an authorization server per API) ignore it. RFC 8707's `resource` is not sent: Entra refuses it.
        data["audience"] = settings.audience
    response = _post(metadata.device_authorization_endpoint, data, None)
    if response.status_code != 200:
        code, message = _error_of(response)
        raise OAuthError(f"the sign-in provider refused to start a device sign-in ({message})", code)
    body = response.json()
    try:
        interval = body.get("interval", DEFAULT_INTERVAL)
        return DeviceAuthorization(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body.get("verification_uri") or body["verification_url"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=float(body.get("expires_in", 600)),
            interval=float(interval)
            if isinstance(interval, int | float) and interval > 0
            else DEFAULT_INTERVAL,
        )
    except (KeyError, TypeError, ValueError) as ex:
        raise OAuthError(f"the sign-in provider's device authorization response lacks {ex}") from ex


def poll_device_token(
    settings: OidcSettings,
    metadata: ProviderMetadata,
    authorization: DeviceAuthorization,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StoredTokens:
    """Poll the token endpoint until the user approves, denies, or the code expires (RFC 8628 §3.4-3.5)."""
    assert settings.client_id is not None
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": authorization.device_code,
        "client_id": settings.client_id,
    }
    interval = authorization.interval
    deadline = clock() + authorization.expires_in
    failures = 0
    with httpx.Client(timeout=TIMEOUT) as client:
        while True:
            sleep(interval)
            try:
                response = _post(metadata.token_endpoint, data, client)
            except OAuthError:
                failures += 1
                if failures >= MAX_NETWORK_FAILURES:
                    raise
                continue
            failures = 0
            if response.status_code == 200:
                return tokens_from_response(response.json())
            code, message = _error_of(response)
            if code == "authorization_pending":
                pass
            elif code == "slow_down":
                interval += SLOW_DOWN_STEP
            elif code == "expired_token":
                raise OAuthError(
                    "the sign-in code expired before it was approved: run `hawk login` again", code
                )
            elif code == "access_denied":
                raise OAuthError("sign-in was denied at the provider", code)
            else:
                raise OAuthError(f"sign-in failed ({message})", code)
            if clock() >= deadline:
                raise OAuthError("the sign-in code expired before it was approved: run `hawk login` again")


def exchange_code(
    metadata: ProviderMetadata, client: ClientCredentials, *, code: str, code_verifier: str, redirect_uri: str
) -> StoredTokens:
    """Tokens for an authorization code (RFC 6749 §4.1.3), proven by the PKCE verifier (RFC 7636 §4.5)."""
    data, auth = client.apply(
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
        }
    )
    response = _post(metadata.token_endpoint, data, None, auth)
    if response.status_code != 200:
        code_, message = _error_of(response)
        raise OAuthError(f"the sign-in provider refused the authorization code ({message})", code_)
    return tokens_from_response(response.json())


def refresh_tokens(
    settings: OidcSettings,
    metadata: ProviderMetadata,
    tokens: StoredTokens,
    *,
    client: ClientCredentials | None = None,
) -> StoredTokens:
    """New tokens from the refresh token; the provider's rotated refresh token (if any) replaces the old one.
    ``client``: the one the tokens were issued to (default: the CLI's)."""
    assert tokens.refresh_token is not None
    data, auth = (client or _cli_client(settings)).apply(
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    )
    response = _post(metadata.token_endpoint, data, None, auth)
    if response.status_code != 200:
        code, message = _error_of(response)
        raise OAuthError(f"the sign-in provider refused the refresh token ({message})", code)
    return tokens_from_response(response.json(), previous_refresh_token=tokens.refresh_token)


def revoke_token(
    settings: OidcSettings,
    metadata: ProviderMetadata,
    token: str,
    hint: str,
    *,
    client: ClientCredentials | None = None,
) -> None:
    """Revoke at the provider (RFC 7009); raises OAuthError when it refuses or cannot be reached."""
    if metadata.revocation_endpoint is None:
        return
    data, auth = (client or _cli_client(settings)).apply({"token": token, "token_type_hint": hint})
    response = _post(metadata.revocation_endpoint, data, None, auth)
    if response.status_code != 200:
        raise OAuthError(f"the sign-in provider did not revoke the token ({_error_of(response)[1]})")
