"""``hawk login``, ``hawk auth access-token|refresh-token`` and ``hawk logout`` as a user runs them: the real command
in a subprocess, no browser, the device-flow approval done over HTTP while ``hawk login`` polls."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from keyrings.alt.file import PlaintextKeyring

from hawk_dagster.auth.session import can_open_browser
from hawk_dagster.auth.token_store import KEYRING_SERVICE, StoredTokens
from hawk_dagster.auth.tokens import TokenVerifier
from tests.auth.oidc_provider import OidcProvider

HAWK = [sys.executable, "-m", "hawk_dagster.cli"]


@pytest.fixture
def user(oidc_provider: OidcProvider) -> str:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_account(name, permissions=["model-access-a", "hawk:edit"])
    return name


def _env(provider: OidcProvider, tmp_path: Path, keyring_backend: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HAWK_", "DISPLAY", "WAYLAND", "BROWSER"))
    }
    return {
        **env,
        **provider.environ(),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHON_KEYRING_BACKEND": keyring_backend,
    }


def _hawk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HAWK, *args], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def _login(provider: OidcProvider, env: dict[str, str], subject: str) -> str:
    """Run ``hawk login``, approve the code it prints, return its standard output."""
    process = subprocess.Popen(
        [*HAWK, "login"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            match = re.search(r"enter the code (\S+)", line)
            if match:
                provider.approve_device(match.group(1), subject)
                break
        else:
            pytest.fail(f"hawk login printed no code: {''.join(seen)}")
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "browser window" not in "".join(seen) + err  # no display here: nothing opened
    return out


def test_login_access_token_logout_with_the_file_store(
    oidc_provider: OidcProvider, user: str, tmp_path: Path
) -> None:
    env = _env(oidc_provider, tmp_path, "keyring.backends.fail.Keyring")  # a headless machine: no keyring
    out = _login(oidc_provider, env, user)
    token_file = tmp_path / "config" / "hawk-dagster" / "tokens.json"
    assert f"Signed in as {user}@hawk.test (tokens kept in the file {token_file})" in out
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    access = _hawk(env, "auth", "access-token")
    assert access.returncode == 0, access.stderr
    verified = TokenVerifier(oidc_provider.settings()).verify(access.stdout.strip())
    assert verified.subject == user and verified.permissions == {"model-access-a", "hawk:edit"}
    refresh = _hawk(env, "auth", "refresh-token")
    assert (
        refresh.returncode == 0
        and refresh.stdout.strip() == next(iter(json.loads(token_file.read_text()).values()))["refresh_token"]
    )

    out = _hawk(env, "logout")
    assert out.returncode == 0 and "Signed out (refresh token revoked)." in out.stdout
    assert json.loads(token_file.read_text()) == {}
    after = _hawk(env, "auth", "access-token")
    assert after.returncode == 1
    assert f"not signed in to {oidc_provider.issuer}: run `hawk login`" in after.stderr
    assert _hawk(env, "logout").stdout.strip() == "Not signed in."


def test_login_uses_a_configured_keyring(oidc_provider: OidcProvider, user: str, tmp_path: Path) -> None:
    env = _env(oidc_provider, tmp_path, "keyrings.alt.file.PlaintextKeyring")
    out = _login(oidc_provider, env, user)
    assert "tokens kept in the keyring keyrings.alt.file.PlaintextKeyring" in out
    assert not (tmp_path / "config" / "hawk-dagster" / "tokens.json").exists()
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "data" / "python_keyring" / "keyring_pass.cfg")  # type: ignore[misc]
    stored = StoredTokens.from_json(
        backend.get_password(KEYRING_SERVICE, f"{oidc_provider.issuer} hawk-cli") or ""
    )
    assert stored is not None and stored.refresh_token
    access = _hawk(env, "auth", "access-token")
    assert TokenVerifier(oidc_provider.settings()).verify(access.stdout.strip()).subject == user
    assert _hawk(env, "logout").returncode == 0
    assert _hawk(env, "auth", "access-token").returncode == 1


@pytest.mark.slow
def test_access_token_refreshes_and_keeps_the_rotated_token(
    oidc_provider: OidcProvider, user: str, tmp_path: Path
) -> None:
    oidc_provider.set_account(user, access_token_ttl=30)  # inside the refresh margin: every call refreshes
    env = _env(oidc_provider, tmp_path, "keyring.backends.fail.Keyring")
    _login(oidc_provider, env, user)
    token_file = tmp_path / "config" / "hawk-dagster" / "tokens.json"

    def stored_refresh_token() -> str:
        token: str = next(iter(json.loads(token_file.read_text()).values()))["refresh_token"]
        return token

    seen = [stored_refresh_token()]
    tokens = []
    for _ in range(3):
        result = _hawk(env, "auth", "access-token")
        assert result.returncode == 0, result.stderr
        tokens.append(result.stdout.strip())
        seen.append(stored_refresh_token())
    assert len(set(tokens)) == 3 and len(set(seen)) == 4


def test_login_opens_the_browser_when_there_is_one(
    oidc_provider: OidcProvider, user: str, tmp_path: Path
) -> None:
    """The "browser" (``BROWSER``, as webbrowser reads it) is a script recording the URL; the test then does what the
    user does on that page, taking the code from the URL."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**_env(oidc_provider, tmp_path, "keyring.backends.fail.Keyring"), "BROWSER": f"{browser} %s"}
    process = subprocess.Popen(
        [*HAWK, "login"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not opened.exists() or not opened.read_text().strip():
            assert process.poll() is None and time.monotonic() < deadline, "hawk login opened no browser"
            time.sleep(0.1)
        url = opened.read_text().strip()
        assert url.startswith(f"{oidc_provider.issuer}/device?user_code=")
        oidc_provider.approve_device(parse_qs(urlsplit(url).query)["user_code"][0], user)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "A browser window was opened for you." in err and f"Signed in as {user}@hawk.test" in out


def test_a_broken_browser_does_not_fail_the_login(
    oidc_provider: OidcProvider, user: str, tmp_path: Path
) -> None:
    env = _env(oidc_provider, tmp_path, "keyring.backends.fail.Keyring")
    env["BROWSER"] = str(tmp_path / "no-such-browser")
    assert "Signed in as" in _login(oidc_provider, env, user)


def test_browser_only_with_a_display() -> None:
    on_linux = sys.platform not in ("darwin", "win32")
    assert can_open_browser({}) is not on_linux
    assert can_open_browser({"DISPLAY": ":0"}) and can_open_browser({"WAYLAND_DISPLAY": "wayland-0"})
    assert can_open_browser({"BROWSER": "wslview"})


def test_commands_explain_missing_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAWK_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    for args in (["login"], ["logout"], ["auth", "access-token"]):
        result = _hawk(env, *args)
        assert result.returncode == 1
        assert (
            "sign-in is not configured: set HAWK_OIDC_ISSUER, HAWK_OIDC_AUDIENCE and HAWK_OIDC_CLIENT_ID"
            in result.stderr
        )
