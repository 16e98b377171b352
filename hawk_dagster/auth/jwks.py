"""The provider's public signing keys (its JWKS), cached, refetched when a token names a key we have not seen.

Providers rotate keys by publishing a new one and signing with it; a token with an unknown ``kid`` therefore
triggers one refetch. Refetches are rate-limited (``min_refetch_interval``) so tokens with made-up key ids cannot
turn the server into a JWKS fetch loop; the set is also refreshed once it is older than ``max_age``.
Only asymmetric signature keys are kept: a symmetric (``oct``) key in the set is never used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

SIGNATURE_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class JwksUnavailableError(Exception):
    """The key set could not be fetched or holds no usable key (message safe to show)."""


class JwksCache:
    def __init__(
        self,
        jwks_uri: Callable[[], str],
        *,
        min_refetch_interval: float = 10.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks_uri = jwks_uri
        self._min_refetch_interval = min_refetch_interval
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self.fetches = 0
        """How many times the set was fetched (tests check the rate limit with it)."""

    def _fetch(self) -> None:
        uri = self._jwks_uri()
        self.fetches += 1
        self._fetched_at = self._clock()
        try:
            response = httpx.get(uri, timeout=10.0, follow_redirects=True)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as ex:
            raise JwksUnavailableError(
                f"could not fetch the sign-in provider's keys from {uri}: {ex}"
            ) from ex
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise JwksUnavailableError(f"the key set at {uri} has no `keys` list")
        self._keys = [
            key
            for key in keys
            if isinstance(key, dict)
            and key.get("kty") in SIGNATURE_KEY_TYPES
            and key.get("use", "sig") == "sig"
        ]
        if not self._keys:
            raise JwksUnavailableError(f"the key set at {uri} holds no signature key")

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((key for key in self._keys if key.get("kid") == kid), None)

    def key(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK for ``kid`` (None: the only key, if there is exactly one), or None when the provider has none."""
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._max_age:
                try:
                    self._fetch()
                except JwksUnavailableError:
                    if not self._keys:
                        raise
                    log.warning("keeping the cached signing keys: refreshing them failed", exc_info=True)
            found = self._find(kid)
            if found is None and self._fetched_at is not None:
                if now - self._fetched_at >= self._min_refetch_interval:
                    self._fetch()
                    found = self._find(kid)
            return found
