"""The provider's discovery document (``/.well-known/openid-configuration``): where its keys and endpoints are.

Found from the issuer alone, so a deployment configures one URL. The document must name the same issuer (OpenID
Connect Discovery §4.3): a document served for another issuer is refused rather than trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0)


class DiscoveryError(Exception):
    """The provider could not be reached or its discovery document is unusable (message safe to show)."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    jwks_uri: str
    token_endpoint: str
    device_authorization_endpoint: str | None
    revocation_endpoint: str | None
    authorization_endpoint: str | None = None
    """Where browsers sign in (authorization code flow)."""
    end_session_endpoint: str | None = None
    """RP-initiated logout, when the provider offers it."""


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def fetch_metadata(issuer: str, client: httpx.Client | None = None) -> ProviderMetadata:
    url = discovery_url(issuer)
    try:
        if client is None:
            response = httpx.get(url, timeout=TIMEOUT, follow_redirects=True)
        else:
            response = client.get(url)
        response.raise_for_status()
        document: Any = response.json()
    except (httpx.HTTPError, ValueError) as ex:
        raise DiscoveryError(
            f"could not read the sign-in provider's discovery document at {url}: {ex}"
        ) from ex
    if not isinstance(document, dict):
        raise DiscoveryError(f"the discovery document at {url} is not a JSON object")
    named = document.get("issuer")
    if not isinstance(named, str) or not _same_issuer(named, issuer):
        raise DiscoveryError(f"the discovery document at {url} names issuer {named!r}, not {issuer!r}")

    def endpoint(name: str, required: bool) -> str | None:
        value = document.get(name)
        if isinstance(value, str) and value:
            return value
        if required:
            raise DiscoveryError(f"the discovery document at {url} has no {name}")
        return None

    return ProviderMetadata(
        issuer=named,
        jwks_uri=endpoint("jwks_uri", True) or "",
        token_endpoint=endpoint("token_endpoint", True) or "",
        device_authorization_endpoint=endpoint("device_authorization_endpoint", False),
        revocation_endpoint=endpoint("revocation_endpoint", False),
        authorization_endpoint=endpoint("authorization_endpoint", False),
        end_session_endpoint=endpoint("end_session_endpoint", False),
    )
