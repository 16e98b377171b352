"""Who is asking: ``Authorization: Bearer <token>`` verified against the issuer, turned into a :class:`Principal`.
A signed-in browser's access token (from its session cookie, ``api.session_cookies``) is verified the same way.

Without an issuer (a local ``hawk serve``, bound to loopback only) every request acts as ``LOCAL_ADMIN``.

Cache: a verified token's principal is kept, keyed by the token's SHA-256, until the token's own ``exp`` (and at
most :data:`CACHE_SECONDS`), so no answer outlives the token that earned it; a token is never stored. What a token
grants cannot change before it expires anyway (a JWT is self-contained); new permissions take effect with the next
token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from hawk_dagster.access.principal import LOCAL_ADMIN, Principal
from hawk_dagster.api.errors import ApiError

if TYPE_CHECKING:
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.auth.settings import OidcSettings
    from hawk_dagster.auth.tokens import TokenVerifier

CACHE_SECONDS: Final = 300.0
CACHE_ENTRIES: Final = 4096
REALM: Final = "hawk"


def unauthenticated(message: str, *, error: str | None = None) -> ApiError:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        safe = message.replace('"', "'")
        challenge += f', error="{error}", error_description="{safe}"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def _cache_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Turns an ``Authorization`` header into a principal (or a 401)."""

    def __init__(self, oidc: OidcSettings | None, access: AccessSettings) -> None:
        self.oidc = oidc
        self.access = access
        self._verifier: TokenVerifier | None = None
        if oidc is not None:
            from hawk_dagster.auth.tokens import TokenVerifier

            self._verifier = TokenVerifier(oidc)
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def local(self) -> bool:
        return self._verifier is None

    @property
    def verifier(self) -> TokenVerifier | None:
        """The issuer's token verifier (browser sign-in checks the tokens it receives with it); None locally."""
        return self._verifier

    def known(self, authorization: str | None) -> Principal | None:
        """The principal without blocking, when that needs no verification: local mode, or a token verified before
        and not expired (else None: call :meth:`principal`). Raises the 401 of a malformed header."""
        if self._verifier is None:
            return LOCAL_ADMIN
        token = self._token(authorization)
        with self._lock:
            cached = self._cache.get(_cache_key(token))
        return cached[0] if cached is not None and cached[1] > time.time() else None

    @staticmethod
    def _token(authorization: str | None) -> str:
        if not authorization:
            raise unauthenticated(
                "this API needs a bearer token (`Authorization: Bearer <access token>`) or a browser signed in at "
                "/auth/login"
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated(
                "the Authorization header must be `Bearer <access token>`", error="invalid_request"
            )
        return token

    def principal(self, authorization: str | None) -> Principal:
        """Blocking (the first use of a key may fetch the issuer's JWKS): call from a worker thread."""
        if self._verifier is None:
            return LOCAL_ADMIN
        token = self._token(authorization)
        key = _cache_key(token)
        now = time.time()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[1] > now:
                return cached[0]
        from hawk_dagster.access.principal import principal_from_token
        from hawk_dagster.auth.tokens import InvalidTokenError

        try:
            verified = self._verifier.verify(token)
        except InvalidTokenError as exc:
            raise unauthenticated(f"invalid access token: {exc}", error="invalid_token") from None
        principal = principal_from_token(verified, self.access)
        with self._lock:
            self._cache[key] = (principal, min(verified.expires_at, now + CACHE_SECONDS))
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
            for stale in [k for k, (_, until) in self._cache.items() if until <= now]:
                del self._cache[stale]
        return principal
