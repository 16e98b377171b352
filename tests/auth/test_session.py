"""The CLI's sign-in against the real provider: device-flow login (the user's browser steps driven over HTTP while
the client polls), refresh with rotation, expiry, logout with revocation."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hawk_dagster.auth.session import (
    SignInError,
    cli_settings,
    current_access_token,
    current_tokens,
    login,
    logout,
)
from hawk_dagster.auth.token_store import FileTokenStore, entry_name
from hawk_dagster.auth.tokens import TokenVerifier
from tests.auth.oidc_provider import OidcProvider

CODE_LINE = re.compile(r"enter the code (\S+)")


def approving(
    provider: OidcProvider, subject: str, *, deny: bool = False
) -> tuple[Callable[[str], None], list[str], list[threading.Thread]]:
    """An ``echo`` for ``login`` that, like a person reading the terminal, approves the printed code in a browser."""
    lines: list[str] = []
    threads: list[threading.Thread] = []

    def echo(line: str) -> None:
        lines.append(line)
        match = CODE_LINE.search(line)
        if match:
            thread = threading.Thread(
                target=provider.approve_device, args=(match.group(1), subject), kwargs={"deny": deny}
            )
            thread.start()
            threads.append(thread)

    return echo, lines, threads


@pytest.fixture
def subject(oidc_provider: OidcProvider) -> str:
    name = f"user-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_account(name, permissions=["model-access-a"], email=f"{name}@example.org")
    return name


@pytest.fixture
def store(tmp_path: Path) -> FileTokenStore:
    return FileTokenStore(tmp_path / "tokens.json")


def _login(provider: OidcProvider, subject: str, store: FileTokenStore) -> None:
    echo, lines, threads = approving(provider, subject)
    result = login(provider.settings(), store=store, open_browser=False, echo=echo)
    for thread in threads:
        thread.join()
    assert result.display_name == f"{subject}@example.org"
    assert any(provider.issuer + "/device" in line for line in lines)


def _refresh_is_refused(provider: OidcProvider, refresh_token: str) -> bool:
    response = httpx.post(
        f"{provider.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": provider.client_id},
    )
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_device_login_stores_verified_tokens(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    _login(oidc_provider, subject, store)
    tokens = store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id))
    assert tokens is not None and tokens.refresh_token is not None
    verified = TokenVerifier(oidc_provider.settings()).verify(
        current_access_token(oidc_provider.settings(), store=store)
    )
    assert verified.subject == subject and verified.permissions == {"model-access-a"}


def test_refresh_keeps_the_rotated_refresh_token(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    """Access tokens live 30 s here, inside the refresh margin: every call refreshes. The second refresh works only
    because the first one's rotated refresh token was stored (the provider retires a refresh token once used)."""
    oidc_provider.set_account(subject, access_token_ttl=30)
    _login(oidc_provider, subject, store)
    entry = entry_name(oidc_provider.issuer, oidc_provider.client_id)
    first = store.load(entry)
    assert first is not None and first.refresh_token is not None

    oidc_provider.set_account(subject, permissions=["model-access-a", "model-access-b"])
    token_1 = current_access_token(oidc_provider.settings(), store=store)
    after_1 = store.load(entry)
    assert after_1 is not None and after_1.refresh_token not in (None, first.refresh_token)
    assert token_1 != first.access_token
    assert TokenVerifier(oidc_provider.settings()).verify(token_1).permissions == {
        "model-access-a",
        "model-access-b",
    }

    token_2 = current_access_token(oidc_provider.settings(), store=store)
    after_2 = store.load(entry)
    assert after_2 is not None and after_2.refresh_token not in (None, after_1.refresh_token)
    assert token_2 != token_1
    # The first refresh token was spent by the first refresh: had it been kept, the second refresh would have failed.
    assert _refresh_is_refused(oidc_provider, first.refresh_token)


def test_no_refresh_while_the_access_token_is_fresh(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    _login(oidc_provider, subject, store)
    entry = entry_name(oidc_provider.issuer, oidc_provider.client_id)
    before = store.load(entry)
    assert current_access_token(oidc_provider.settings(), store=store) == before.access_token  # type: ignore[union-attr]
    assert store.load(entry) == before


def test_concurrent_refreshes_refresh_once(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    """Two callers needing a refresh at once: one refreshes, the other takes its result (a second refresh with the
    same rotating token would make the provider revoke the whole sign-in)."""
    oidc_provider.set_account(subject, access_token_ttl=30)
    _login(oidc_provider, subject, store)
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(
                current_tokens(oidc_provider.settings(), store=store, force_refresh=True).access_token
            )
        except BaseException as ex:
            errors.append(ex)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 2
    assert current_access_token(
        oidc_provider.settings(), store=store
    )  # still signed in: the grant was not revoked


def test_expired_refresh_token_says_run_hawk_login(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    oidc_provider.set_account(subject, access_token_ttl=30, refresh_token_ttl=2)
    _login(oidc_provider, subject, store)
    time.sleep(3)
    with pytest.raises(SignInError, match=r"has expired or was revoked .*invalid_grant.*: run `hawk login`"):
        current_access_token(oidc_provider.settings(), store=store)
    assert store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id)) is None
    with pytest.raises(SignInError, match=r"not signed in to .*: run `hawk login`"):
        current_access_token(oidc_provider.settings(), store=store)


def test_logout_revokes_and_forgets(oidc_provider: OidcProvider, subject: str, store: FileTokenStore) -> None:
    _login(oidc_provider, subject, store)
    tokens = store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id))
    assert tokens is not None and tokens.refresh_token is not None
    result = logout(oidc_provider.settings(), store=store)
    assert result.was_signed_in and result.revoked and result.revoke_error is None
    assert store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id)) is None
    assert _refresh_is_refused(oidc_provider, tokens.refresh_token)
    assert not logout(oidc_provider.settings(), store=store).was_signed_in


def test_denied_sign_in(oidc_provider: OidcProvider, subject: str, store: FileTokenStore) -> None:
    echo, _, threads = approving(oidc_provider, subject, deny=True)
    with pytest.raises(SignInError, match="sign-in was denied at the provider"):
        login(oidc_provider.settings(), store=store, open_browser=False, echo=echo)
    for thread in threads:
        thread.join()
    assert store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id)) is None


def test_polling_too_fast_is_slowed_down(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    """Two polls without waiting: the provider answers `slow_down` to the second, and the client then waits 5 s
    longer (RFC 8628 §3.5). The user approves only after that."""
    lines: list[str] = []
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            match = CODE_LINE.search(lines[0])
            assert match
            oidc_provider.approve_device(match.group(1), subject)
            time.sleep(1.1)  # the provider's pace, not the 6 s asked for: the test need not wait that long

    login(oidc_provider.settings(), store=store, open_browser=False, echo=lines.append, sleep=sleep)
    assert waits == [1, 1, 6]


def test_wrong_audience_is_caught_at_login(
    oidc_provider: OidcProvider, subject: str, store: FileTokenStore
) -> None:
    echo, _, threads = approving(oidc_provider, subject)
    settings = oidc_provider.settings(audience="https://not-this-api.test")
    with pytest.raises(SignInError, match=r"not one the API accepts .*HAWK_OIDC_AUDIENCE"):
        login(settings, store=store, open_browser=False, echo=echo)
    for thread in threads:
        thread.join()
    assert store.load(entry_name(oidc_provider.issuer, oidc_provider.client_id)) is None


def test_cli_settings_name_what_is_missing() -> None:
    with pytest.raises(SignInError, match="sign-in is not configured: set HAWK_OIDC_ISSUER"):
        cli_settings({})
    with pytest.raises(SignInError, match="HAWK_OIDC_CLIENT_ID is required"):
        cli_settings({"HAWK_OIDC_ISSUER": "https://login.example.com", "HAWK_OIDC_AUDIENCE": "a"})
    with pytest.raises(SignInError, match="HAWK_OIDC_AUDIENCE is required"):
        cli_settings({"HAWK_OIDC_ISSUER": "https://login.example.com"})
