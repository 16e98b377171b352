"""Verifying access tokens (JWT) from the OpenID provider: who is calling and what they may do.

Checks: the signature against the issuer's published keys (found by discovery, cached, refetched on an unknown key
id), an allow-list of asymmetric algorithms (never ``none``, never HMAC: a public key must not double as a shared
secret), ``iss``, ``aud``, ``exp`` and ``nbf`` with a small leeway for clock skew. Permissions come from the claim the
deployment names (a list, or a space-separated string as in ``scp``/``scope``).
Error messages are safe to show to the caller and never contain the token.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from hawk_dagster.auth.discovery import DiscoveryError, fetch_metadata
from hawk_dagster.auth.jwks import JwksCache, JwksUnavailableError
from hawk_dagster.auth.settings import OidcSettings

ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric signature algorithms only."""

KEY_TYPE_ALGORITHMS = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "OKP": frozenset({"EdDSA"}),
}

LEEWAY_SECONDS = 30
"""Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""

REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class InvalidTokenError(Exception):
    """The token is not acceptable; the message says why and is safe to show (it never contains the token)."""


class ProviderUnavailableError(InvalidTokenError):
    """The provider's discovery document or keys could not be read: not the token's fault (a server answers 503)."""


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    claims: Mapping[str, Any]
    permissions: frozenset[str]
    expires_at: float
    display_name: str
    """For logs and ``created_by``-style display: email, else preferred_username, else the subject."""


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``) when no claim has that name."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def permissions_from_claims(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = _claim(claims, claim)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise InvalidTokenError(
        f"the token's {claim!r} claim is neither a list of strings nor a space-separated string"
    )


class TokenVerifier:
    """Verifies access tokens for one issuer and audience; safe to share between threads."""

    def __init__(
        self, settings: OidcSettings, *, min_refetch_interval: float = 10.0, jwks_max_age: float = 3600.0
    ) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._issuer: str | None = None if settings.jwks_uri is None else settings.issuer
        self._jwks_uri: str | None = settings.jwks_uri
        self.jwks = JwksCache(
            self._resolve_jwks_uri, min_refetch_interval=min_refetch_interval, max_age=jwks_max_age
        )

    def _discover(self) -> tuple[str, str]:
        with self._lock:
            if self._issuer is None or self._jwks_uri is None:
                try:
                    metadata = fetch_metadata(self.settings.issuer)
                except DiscoveryError as ex:
                    raise ProviderUnavailableError(str(ex)) from ex
                self._issuer, self._jwks_uri = metadata.issuer, metadata.jwks_uri
            return self._issuer, self._jwks_uri

    def _resolve_jwks_uri(self) -> str:
        return self._discover()[1]

    def _signing_key(self, header: Mapping[str, Any]) -> Any:
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise InvalidTokenError(
                f"token algorithm {algorithm!r} is not allowed (allowed: {', '.join(sorted(ALLOWED_ALGORITHMS))})"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("the token's key id (kid) is not a string")
        try:
            jwk = self.jwks.key(kid)
        except JwksUnavailableError as ex:
            raise ProviderUnavailableError(str(ex)) from ex
        if jwk is None:
            raise InvalidTokenError("the token is signed with a key the sign-in provider does not publish")
        if jwk.get("alg", algorithm) != algorithm or algorithm not in KEY_TYPE_ALGORITHMS.get(jwk["kty"], ()):
            raise InvalidTokenError(f"the token's algorithm {algorithm!r} does not match its signing key")
        try:
            return jwt.PyJWK(jwk, algorithm=algorithm).key
        except jwt.PyJWTError as ex:
            raise InvalidTokenError("the sign-in provider's key for this token is unusable") from ex

    def verify(self, token: str, *, audience: str | None = None) -> VerifiedToken:
        """The token's subject, claims and permissions, or ``InvalidTokenError`` saying why it is refused.
        ``audience`` other than the API's: an ID token, whose ``aud`` is the client it was issued to."""
        audience = audience or self.settings.audience
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as ex:
            raise InvalidTokenError("the token is not a well-formed JWT") from ex
        issuer, _ = self._discover()
        key = self._signing_key(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as ex:
            raise InvalidTokenError("the token has expired") from ex
        except jwt.ImmatureSignatureError as ex:
            raise InvalidTokenError("the token is not valid yet (nbf/iat in the future)") from ex
        except jwt.InvalidAudienceError as ex:
            raise InvalidTokenError(f"the token is not for this API (audience must be {audience!r})") from ex
        except jwt.InvalidIssuerError as ex:
            raise InvalidTokenError(f"the token was not issued by {issuer!r}") from ex
        except jwt.MissingRequiredClaimError as ex:
            raise InvalidTokenError(f"the token lacks the {ex.claim!r} claim") from ex
        except jwt.InvalidSignatureError as ex:
            raise InvalidTokenError("the token's signature does not verify") from ex
        except jwt.PyJWTError as ex:
            raise InvalidTokenError(f"the token is invalid ({type(ex).__name__})") from ex
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError("the token's subject (sub) is not a non-empty string")
        display = next(
            (
                claims[name]
                for name in ("email", "preferred_username")
                if isinstance(claims.get(name), str) and claims[name]
            ),
            subject,
        )
        return VerifiedToken(
            subject=subject,
            claims=claims,
            permissions=permissions_from_claims(claims, self.settings.permissions_claim),
            expires_at=float(claims["exp"]),
            display_name=display,
        )
