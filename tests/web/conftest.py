"""Fixtures of the results pages' tests: the API tests' deployment (three eval sets of three model groups, a scan)
and its settings, an app serving the pages, and users of each group with real tokens from the OpenID provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hawk_dagster.api.app import create_app
from hawk_dagster.api.settings import ServerSettings
from hawk_dagster.storage.root import StorageRoot
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
from tests.api.test_access_matrix import as_user  # noqa: F401  (re-exported for the page tests)
from tests.web.browser import browser_context, launched_chromium, page  # noqa: F401  (fixtures, used by name)


@pytest.fixture
def site_settings(make_settings: MakeSettings, deployment: Deployment) -> MakeSettings:  # noqa: F811
    """Settings on the deployment's own storage root, where the warehouse's log locations are (the viewer links
    need them); these tests only read it."""

    def make(**overrides: object) -> ServerSettings:
        return make_settings(**{"storage": StorageRoot(str(deployment.root)), **overrides})

    return make


@pytest.fixture
def local_site(site_settings: MakeSettings) -> Iterator[str]:
    """The local-mode app (no issuer: the local administrator) over real HTTP; yields its base URL."""
    with serving(create_app(site_settings())) as base_url:
        yield base_url


@pytest.fixture
def signed_site(site_settings: MakeSettings, oidc_provider: Any) -> Iterator[str]:
    """The app with the OpenID provider as its issuer, over real HTTP; yields its base URL."""
    app = create_app(site_settings(oidc=oidc_provider.settings()))
    with serving(app) as base_url:
        yield base_url


@pytest.fixture
def signed_http(signed_site: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=signed_site, timeout=30) as http:
        yield http
