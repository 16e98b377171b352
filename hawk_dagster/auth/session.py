"""The signed-in CLI user: log in (device flow), a valid access token for other commands (refreshed as needed, the
rotated refresh token kept), log out.

Refreshes run under a per-entry file lock and re-read the store first, so concurrent ``hawk`` processes refresh once
instead of racing with the same rotating refresh token (which a provider with reuse detection punishes by revoking
the whole sign-in).
"""

from __future__ import annotations

import os
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import click

from hawk_dagster.auth.discovery import DiscoveryError, ProviderMetadata, fetch_metadata
from hawk_dagster.auth.oauth import (
    OAuthError,
    poll_device_token,
    refresh_tokens,
    revoke_token,
    start_device_authorization,
)
from hawk_dagster.auth.settings import (
    AUDIENCE_ENV,
    CLIENT_ID_ENV,
    ISSUER_ENV,
    OidcSettings,
    OidcSettingsError,
    oidc_settings_from_env,
)
from hawk_dagster.auth.token_store import (
    StoredTokens,
    TokenStore,
    TokenStoreError,
    entry_name,
    open_token_store,
    token_lock,
)

REFRESH_MARGIN = 60.0
"""Refresh an access token that expires within this many seconds (a request must not outlive its token)."""


class SignInError(click.ClickException):
    """Signing in is needed, failed, or is not configured; the message says what to do."""


def cli_settings(environ: Mapping[str, str] = os.environ) -> OidcSettings:
    """The sign-in settings the CLI needs (issuer, audience and client id), or a SignInError naming what is missing."""
    try:
        settings = oidc_settings_from_env(environ)
    except OidcSettingsError as ex:
        raise SignInError(str(ex)) from ex
    if settings is None:
        raise SignInError(
            f"sign-in is not configured: set {ISSUER_ENV}, {AUDIENCE_ENV} and {CLIENT_ID_ENV} "
            "(see the README, 'Signing in')"
        )
    if settings.client_id is None:
        raise SignInError(
            f"{CLIENT_ID_ENV} is required to sign in from the CLI (the provider's public client id)"
        )
    return settings


def _entry(settings: OidcSettings) -> str:
    if settings.client_id is None:
        raise SignInError(
            f"{CLIENT_ID_ENV} is required to sign in from the CLI (the provider's public client id)"
        )
    return entry_name(settings.issuer, settings.client_id)


def _metadata(settings: OidcSettings) -> ProviderMetadata:
    try:
        return fetch_metadata(settings.issuer)
    except DiscoveryError as ex:
        raise SignInError(str(ex)) from ex


def _store(store: TokenStore | None) -> TokenStore:
    if store is not None:
        return store
    try:
        return open_token_store()
    except TokenStoreError as ex:
        raise SignInError(str(ex)) from ex


def _not_signed_in(settings: OidcSettings) -> SignInError:
    return SignInError(f"not signed in to {settings.issuer}: run `hawk login`")


def current_tokens(
    settings: OidcSettings,
    *,
    store: TokenStore | None = None,
    margin: float = REFRESH_MARGIN,
    force_refresh: bool = False,
) -> StoredTokens:
    """The stored tokens, refreshed first when the access token expires within ``margin`` seconds (or always with
    ``force_refresh``); the rotated refresh token is stored."""
    store = _store(store)
    entry = _entry(settings)
    try:
        tokens = store.load(entry)
        if tokens is None:
            raise _not_signed_in(settings)
        if not force_refresh and not tokens.expires_within(margin):
            return tokens
        if tokens.refresh_token is None:
            raise SignInError(
                f"your sign-in to {settings.issuer} has expired (no refresh token): run `hawk login`"
            )
        with token_lock(entry):
            latest = store.load(entry)  # another process may have refreshed while we waited for the lock
            if latest is None:
                raise _not_signed_in(settings)
            if latest != tokens and not latest.expires_within(margin):
                return latest
            try:
                fresh = refresh_tokens(settings, _metadata(settings), latest)
            except OAuthError as ex:
                if ex.code in ("invalid_grant", "invalid_token", "unauthorized_client"):
                    store.delete(entry)  # no use keeping a refresh token the provider refuses
                    raise SignInError(
                        f"your sign-in to {settings.issuer} has expired or was revoked ({ex}): run `hawk login`"
                    ) from ex
                raise SignInError(str(ex)) from ex
            store.save(entry, fresh)
            return fresh
    except TokenStoreError as ex:
        raise SignInError(str(ex)) from ex


def current_access_token(settings: OidcSettings, *, store: TokenStore | None = None) -> str:
    """A valid access token for API calls (refreshed as needed); SignInError ("run `hawk login`") when there is none."""
    return current_tokens(settings, store=store).access_token


def can_open_browser(environ: Mapping[str, str] = os.environ) -> bool:
    """A browser can be shown: not on a Linux/BSD machine without a display (where webbrowser would start a text
    browser in this terminal, or nothing), unless BROWSER names one."""
    if environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def _open_browser(url: str) -> bool:
    try:
        return webbrowser.open(url, new=2)
    except Exception:  # a broken browser setup must not fail the sign-in: the URL is printed anyway
        return False


@dataclass(frozen=True)
class LoginResult:
    display_name: str
    store: str
    """Where the tokens are kept (a description, never the tokens)."""


def login(
    settings: OidcSettings,
    *,
    store: TokenStore | None = None,
    open_browser: bool = True,
    echo: Callable[[str], None] = lambda line: click.echo(line, err=True),
    sleep: Callable[[float], None] = time.sleep,
) -> LoginResult:
    """Sign in with the device authorization grant: show the URL and code, wait for approval, check that the access
    token is one the API accepts, and keep the tokens."""
    from hawk_dagster.auth.tokens import InvalidTokenError, TokenVerifier

    store = _store(store)
    entry = _entry(settings)
    metadata = _metadata(settings)
    try:
        authorization = start_device_authorization(settings, metadata)
    except OAuthError as ex:
        raise SignInError(str(ex)) from ex
    echo(f"To sign in, open {authorization.verification_uri} and enter the code {authorization.user_code}")
    if authorization.verification_uri_complete:
        echo(f"(or open {authorization.verification_uri_complete} to have the code filled in)")
    if open_browser and can_open_browser() and authorization.verification_uri_complete:
        if _open_browser(authorization.verification_uri_complete):
            echo("A browser window was opened for you.")
    echo(
        f"Waiting for the sign-in to be approved (the code expires in {int(authorization.expires_in // 60)} min)..."
    )
    try:
        tokens = poll_device_token(settings, metadata, authorization, sleep=sleep)
    except OAuthError as ex:
        raise SignInError(str(ex)) from ex
    try:
        verified = TokenVerifier(settings).verify(tokens.access_token)
    except InvalidTokenError as ex:
        raise SignInError(
            f"signed in, but the provider's access token is not one the API accepts ({ex}); "
            f"check {AUDIENCE_ENV} and the provider's API settings"
        ) from ex
    try:
        store.save(entry, tokens)
    except TokenStoreError as ex:
        raise SignInError(
            f"{ex} (set HAWK_TOKEN_STORE=file to keep tokens in a private file instead)"
        ) from ex
    return LoginResult(display_name=verified.display_name, store=store.description)


@dataclass(frozen=True)
class LogoutResult:
    was_signed_in: bool
    revoked: bool
    revoke_error: str | None = None


def logout(settings: OidcSettings, *, store: TokenStore | None = None) -> LogoutResult:
    """Forget the stored tokens; revoke the refresh token first where the provider has a revocation endpoint."""
    store = _store(store)
    entry = _entry(settings)
    try:
        tokens = store.load(entry)
        if tokens is None:
            return LogoutResult(was_signed_in=False, revoked=False)
        revoked, error = False, None
        if tokens.refresh_token is not None:
            try:
                metadata = fetch_metadata(settings.issuer)
                if metadata.revocation_endpoint is not None:
                    revoke_token(settings, metadata, tokens.refresh_token, "refresh_token")
                    revoked = True
            except (DiscoveryError, OAuthError) as ex:
                error = str(ex)
        store.delete(entry)
    except TokenStoreError as ex:
        raise SignInError(str(ex)) from ex
    return LogoutResult(was_signed_in=True, revoked=revoked, revoke_error=error)
