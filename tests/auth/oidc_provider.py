"""A real OpenID provider for sign-in tests: node's ``oidc-provider`` (tests/auth/oidc_provider/) on a free loopback port.

Tokens come from the running provider, signed with its own keys and found through its discovery document and JWKS:
``token_for`` uses a test-only grant of the provider (no browser), ``approve_device`` goes through the device flow's
pages (user code, login, consent) over HTTP as a person in a browser would. ``rotate_keys`` makes the provider sign
with a new key, published first in its JWKS, so verifiers' refetch on an unknown key id is exercised.

Registered as a pytest plugin in tests/conftest.py: fixture ``oidc_provider`` (session scope).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from filelock import FileLock

from hawk_dagster.auth.settings import OidcSettings

PROJECT_DIR = Path(__file__).parent / "oidc_provider"
AUDIENCE = "https://hawk.test/api"
CLIENT_ID = "hawk-cli"
WEB_CLIENT_ID = "hawk-web"
TEST_ISSUER_CLIENT = "hawk-test-issuer"
TEST_GRANT = "urn:hawk:test:issue"
SCOPES = ("openid", "profile", "email", "offline_access", "hawk")
POLL_INTERVAL = 1


class _Forms(HTMLParser):
    """The forms of a page: action, method and the inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1]["fields"][values["name"]] = values.get("value", "")


def _submit_form(client: httpx.Client, page: httpx.Response, **overrides: str) -> httpx.Response:
    parser = _Forms()
    parser.feed(page.text)
    assert parser.forms, f"no form on {page.url}: {page.text[:500]}"
    form = parser.forms[0]
    fields = {**form["fields"], **overrides}
    response = client.post(urljoin(str(page.url), form["action"]), data=fields)
    response.raise_for_status()
    return response


@dataclass
class OidcProvider:
    """The running provider and what tests need from it."""

    issuer: str
    audience: str
    client_id: str
    admin_secret: str = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    web_client_secret: str = field(repr=False, default="")
    """The secret of the web client (``WEB_CLIENT_ID``): browser sign-in to ``hawk serve``."""

    def settings(self, **overrides: Any) -> OidcSettings:
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "audience": self.audience,
            "client_id": self.client_id,
            "scopes": SCOPES,
            "web_client_id": WEB_CLIENT_ID,
            "web_client_secret": self.web_client_secret,
            **overrides,
        }
        return OidcSettings(**values)

    def environ(self) -> dict[str, str]:
        """The HAWK_OIDC_* variables that point the CLI and the server at this provider."""
        return {
            "HAWK_OIDC_ISSUER": self.issuer,
            "HAWK_OIDC_AUDIENCE": self.audience,
            "HAWK_OIDC_CLIENT_ID": self.client_id,
            "HAWK_OIDC_SCOPES": " ".join(SCOPES),
            "HAWK_OIDC_WEB_CLIENT_ID": WEB_CLIENT_ID,
            "HAWK_OIDC_WEB_CLIENT_SECRET": self.web_client_secret,
        }

    def _admin(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.request(
            method,
            f"{self.issuer}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_secret}"},
            timeout=30,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_account(
        self,
        subject: str,
        *,
        permissions: list[str] | None = None,
        email: str | None = None,
        access_token_ttl: int | None = None,
        refresh_token_ttl: int | None = None,
    ) -> None:
        """Create or change an account; tokens issued from now on carry these claims and lifetimes."""
        body: dict[str, Any] = {}
        if permissions is not None:
            body["permissions"] = permissions
        if email is not None:
            body["email"] = email
        if access_token_ttl is not None:
            body["access_token_ttl"] = access_token_ttl
        if refresh_token_ttl is not None:
            body["refresh_token_ttl"] = refresh_token_ttl
        self._admin("PUT", f"/admin/accounts/{subject}", body)

    def token_for(self, subject: str, permissions: list[str]) -> str:
        """A real access token (JWT for ``audience``, ``permissions`` claim) issued and signed by the provider."""
        response = httpx.post(
            f"{self.issuer}/token",
            data={"grant_type": TEST_GRANT, "subject": subject, "permissions": " ".join(permissions)},
            auth=(TEST_ISSUER_CLIENT, self.admin_secret),
            timeout=30,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def rotate_keys(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on (published first in the JWKS); returns its key id."""
        kid: str = self._admin("POST", "/admin/rotate-keys", {"keep_old": keep_old})["kid"]
        return kid

    def approve_device(self, user_code: str, subject: str, *, deny: bool = False) -> None:
        """Do what the user does in the browser for ``hawk login``: enter the code, sign in as ``subject``, consent
        (or deny at the confirmation step)."""
        with httpx.Client(follow_redirects=True, timeout=30) as client:
            page = client.get(f"{self.issuer}/device", params={"user_code": user_code})
            page.raise_for_status()
            page = _submit_form(client, page)  # the auto-submitting form carrying the code
            if deny:
                page = _submit_form(client, page, abort="yes", confirm="")
                assert "interrupted" in page.text, page.text[:500]
                return
            page = _submit_form(client, page)  # "is this the code on your device?" → yes
            page = _submit_form(client, page, login=subject, password="any")
            while "Sign-in Success" not in page.text:  # consent (once per missing scope set)
                page = _submit_form(client, page)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ensure_node_modules() -> None:
    """``npm ci`` once (pinned by package-lock.json); parallel test workers wait for the first one's install."""
    installed = PROJECT_DIR / "node_modules" / "oidc-provider"
    if installed.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            "npm is not installed: the sign-in tests need node's oidc-provider (tests/auth/oidc_provider)"
        )
    with FileLock(str(PROJECT_DIR / ".npm-ci.lock"), timeout=600):
        if not installed.is_dir():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(PROJECT_DIR)],
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=600,
            )


def start_oidc_provider(log_dir: Path) -> OidcProvider:
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "node is not installed: the sign-in tests need node's oidc-provider (tests/auth/oidc_provider)"
        )
    _ensure_node_modules()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    web_secret = secrets.token_urlsafe(24)
    log_path = log_dir / "oidc-provider.log"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_AUDIENCE": AUDIENCE,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_ADMIN_SECRET": secret,
        "OIDC_POLL_INTERVAL": str(POLL_INTERVAL),
        "OIDC_WEB_CLIENT_ID": WEB_CLIENT_ID,
        "OIDC_WEB_CLIENT_SECRET": web_secret,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(PROJECT_DIR / "provider.mjs")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    provider = OidcProvider(issuer, AUDIENCE, CLIENT_ID, secret, process, log_path, web_secret)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider exited ({process.returncode}): {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return provider
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_oidc_provider(provider)
            raise RuntimeError(f"oidc-provider did not answer on {issuer}: {log_path.read_text()[-2000:]}")
        time.sleep(0.1)


def stop_oidc_provider(provider: OidcProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """node oidc-provider on a free loopback port for the whole session (see the module docstring)."""
    provider = start_oidc_provider(tmp_path_factory.mktemp("oidc"))
    try:
        yield provider
    finally:
        stop_oidc_provider(provider)
