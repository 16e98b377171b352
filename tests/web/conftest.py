"""Fixtures of the results pages' tests: the API tests' deployment (three eval sets of three model groups, a scan)
and its settings, an app serving the pages, and users of each group with real tokens from the OpenID provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hawk_dagster.api.app import create_app
from tests.api.conftest import (  # noqa: F401  (fixtures, used by name)
    Deployment,
    MakeSettings,
    client,
    deployment,
    local_app,
    make_settings,
    serving,
    storage,
)
from tests.web.browser import browser_context, chromium, page  # noqa: F401  (fixtures, used by name)

USERS: dict[str, list[str]] = {
    "alice": ["model-access-alpha"],
    "bob": ["model-access-beta", "model-access-gamma"],
    "carol": [],
    "editor": ["model-access-alpha", "model-access-beta", "model-access-gamma", "hawk:edit"],
}
"""Who signs in: one group, two groups, none, and an editor of everything."""


def bearer(oidc_provider: Any, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {oidc_provider.token_for(user, USERS[user])}"}


@pytest.fixture
def local_site(local_app: FastAPI) -> Iterator[str]:  # noqa: F811
    """The local-mode app (no issuer: the local administrator) over real HTTP; yields its base URL."""
    with serving(local_app) as base_url:
        yield base_url


@pytest.fixture
def signed_site(make_settings: MakeSettings, oidc_provider: Any) -> Iterator[str]:  # noqa: F811
    """The app with the OpenID provider as its issuer, over real HTTP; yields its base URL."""
    app = create_app(make_settings(oidc=oidc_provider.settings()))
    with serving(app) as base_url:
        yield base_url


@pytest.fixture
def signed_http(signed_site: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=signed_site, timeout=30) as http:
        yield http
