"""Access-token verification against the real OpenID provider (node oidc-provider on loopback).

Valid tokens come only from the provider. Hand-signed tokens appear only as negative cases (a foreign key, ``alg:
none``, HMAC keyed with the provider's public key, tampered claims) and, for the time checks, from a throwaway issuer
whose key set a local server publishes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hawk_dagster.auth.settings import OidcSettings
from hawk_dagster.auth.tokens import (
    InvalidTokenError,
    ProviderUnavailableError,
    TokenVerifier,
    permissions_from_claims,
)
from tests.auth.oidc_provider import OidcProvider, start_oidc_provider, stop_oidc_provider


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _join(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), signature])


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_real_token_verifies_with_its_permissions(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token_for("alice", ["model-access-public", "hawk:edit"])
    verified = TokenVerifier(oidc_provider.settings()).verify(token)
    assert verified.subject == "alice"
    assert verified.permissions == {"model-access-public", "hawk:edit"}
    assert verified.display_name == "alice@hawk.test"
    assert verified.claims["aud"] == oidc_provider.audience
    assert time.time() < verified.expires_at <= time.time() + 3600 + 5


def test_permissions_read_from_the_configured_claim(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token_for("bob", ["model-access-a"])
    # oidc-provider puts the granted scopes in `scope`, space separated (as `scp` often is).
    verified = TokenVerifier(oidc_provider.settings(permissions_claim="scope")).verify(token)
    assert verified.permissions == {"hawk"}
    absent = TokenVerifier(oidc_provider.settings(permissions_claim="groups")).verify(token)
    assert absent.permissions == frozenset()


def test_permissions_claim_shapes() -> None:
    assert permissions_from_claims({"scp": "a b  c"}, "scp") == {"a", "b", "c"}
    assert permissions_from_claims({"permissions": ["x", "y"]}, "permissions") == {"x", "y"}
    assert permissions_from_claims({"realm_access": {"roles": ["r"]}}, "realm_access.roles") == {"r"}
    assert permissions_from_claims({}, "groups") == frozenset()
    with pytest.raises(InvalidTokenError, match="'groups' claim is neither"):
        permissions_from_claims({"groups": [1, 2]}, "groups")


def test_wrong_audience_refused(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token_for("alice", [])
    verifier = TokenVerifier(oidc_provider.settings(audience="https://other.test/api"))
    with pytest.raises(InvalidTokenError, match="not for this API"):
        verifier.verify(token)


def test_wrong_issuer_refused(oidc_provider: OidcProvider) -> None:
    """The provider's keys, but the deployment trusts another issuer: its tokens are refused."""
    token = oidc_provider.token_for("alice", [])
    settings = oidc_provider.settings(
        issuer="https://issuer.other.test", jwks_uri=f"{oidc_provider.issuer}/jwks"
    )
    with pytest.raises(InvalidTokenError, match=re.escape("not issued by 'https://issuer.other.test'")):
        TokenVerifier(settings).verify(token)


def test_foreign_key_refused(oidc_provider: OidcProvider) -> None:
    real = oidc_provider.token_for("alice", ["hawk:admin"])
    header, payload, _ = _parts(real)
    forged = jwt.encode(payload, _rsa_key(), algorithm="RS256", headers={"kid": header["kid"]})
    verifier = TokenVerifier(oidc_provider.settings())
    with pytest.raises(InvalidTokenError, match="signature does not verify"):
        verifier.verify(forged)
    unknown_kid = jwt.encode(payload, _rsa_key(), algorithm="RS256", headers={"kid": "attacker-key"})
    with pytest.raises(InvalidTokenError, match="does not publish"):
        verifier.verify(unknown_kid)


def test_alg_none_refused(oidc_provider: OidcProvider) -> None:
    header, payload, _ = _parts(oidc_provider.token_for("alice", []))
    for alg in ("none", "None", "NONE"):
        with pytest.raises(InvalidTokenError, match="is not allowed"):
            TokenVerifier(oidc_provider.settings()).verify(_join({**header, "alg": alg}, payload, ""))


def test_hmac_keyed_with_the_public_key_refused(oidc_provider: OidcProvider) -> None:
    """The classic confusion attack: HS256 with the provider's published RSA key as the shared secret."""
    header, payload, _ = _parts(oidc_provider.token_for("alice", []))
    payload["permissions"] = ["hawk:admin"]
    jwks = httpx.get(f"{oidc_provider.issuer}/jwks").json()
    public = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"])).key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged_header = {**header, "alg": "HS256"}
    signing_input = f"{_b64(json.dumps(forged_header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = _b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidTokenError, match="'HS256' is not allowed"):
        TokenVerifier(oidc_provider.settings()).verify(f"{signing_input}.{signature}")


def test_tampered_claims_refused(oidc_provider: OidcProvider) -> None:
    header, payload, signature = _parts(oidc_provider.token_for("alice", ["model-access-a"]))
    for change in (
        {"permissions": ["model-access-a", "hawk:admin"]},
        {"sub": "admin"},
        {"exp": payload["exp"] + 1},
    ):
        with pytest.raises(InvalidTokenError, match="signature does not verify"):
            TokenVerifier(oidc_provider.settings()).verify(_join(header, {**payload, **change}, signature))


def test_garbage_refused_without_echoing_it(oidc_provider: OidcProvider) -> None:
    for garbage in ("", "abc", "a.b.c", "secret-looking-value.x.y"):
        with pytest.raises(InvalidTokenError) as raised:
            TokenVerifier(oidc_provider.settings()).verify(garbage)
        assert garbage == "" or garbage not in str(raised.value)


def test_key_rotation_refetches_the_key_set(oidc_provider: OidcProvider) -> None:
    verifier = TokenVerifier(oidc_provider.settings(), min_refetch_interval=0)
    before = oidc_provider.token_for("alice", ["p"])
    assert verifier.verify(before).permissions == {"p"}
    assert verifier.jwks.fetches == 1
    new_kid = oidc_provider.rotate_keys()
    after = oidc_provider.token_for("alice", ["q"])
    assert _parts(after)[0]["kid"] == new_kid
    assert verifier.verify(after).permissions == {"q"}
    assert verifier.jwks.fetches == 2
    assert verifier.verify(before).subject == "alice"  # the old key stays published, so its tokens stay valid
    assert verifier.jwks.fetches == 2


def test_unknown_key_refetch_is_rate_limited(oidc_provider: OidcProvider) -> None:
    verifier = TokenVerifier(oidc_provider.settings(), min_refetch_interval=3600)
    verifier.verify(oidc_provider.token_for("alice", []))
    _, payload, _ = _parts(oidc_provider.token_for("alice", []))
    for n in range(5):
        forged = jwt.encode(payload, _rsa_key(), algorithm="RS256", headers={"kid": f"made-up-{n}"})
        with pytest.raises(InvalidTokenError, match="does not publish"):
            verifier.verify(forged)
    assert verifier.jwks.fetches == 1


def test_removed_key_refused_after_rotation(tmp_path: Path) -> None:
    """A private provider: dropping the old key would disturb other tests sharing the session's provider."""
    provider = start_oidc_provider(tmp_path)
    try:
        verifier = TokenVerifier(provider.settings(), min_refetch_interval=0)
        old = provider.token_for("alice", [])
        verifier.verify(old)
        provider.rotate_keys(keep_old=False)
        verifier.verify(provider.token_for("alice", []))
        with pytest.raises(InvalidTokenError, match="does not publish"):
            verifier.verify(old)
    finally:
        stop_oidc_provider(provider)


def test_unreachable_provider_is_not_the_tokens_fault() -> None:
    settings = OidcSettings(issuer="http://127.0.0.1:9", audience="a", client_id=None, scopes=())
    with pytest.raises(ProviderUnavailableError, match="discovery document"):
        TokenVerifier(settings).verify(jwt.encode({"sub": "x"}, _rsa_key(), algorithm="RS256"))


class _ThrowawayIssuer:
    """An issuer whose key we hold, its key set served on loopback: for tokens with chosen times."""

    def __init__(self, jwks_uri: str, key: rsa.RSAPrivateKey) -> None:
        self.jwks_uri = jwks_uri
        self.key = key
        self.issuer = "https://throwaway.test"

    def settings(self) -> OidcSettings:
        return OidcSettings(
            issuer=self.issuer, audience="api", client_id=None, scopes=(), jwks_uri=self.jwks_uri
        )

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": "api", "sub": "s", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None},
            self.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )


@pytest.fixture
def throwaway_issuer() -> Iterator[_ThrowawayIssuer]:
    key = _rsa_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _ThrowawayIssuer(f"http://127.0.0.1:{server.server_address[1]}/jwks", key)
    finally:
        server.shutdown()
        server.server_close()


def test_times_checked_with_small_leeway(throwaway_issuer: _ThrowawayIssuer) -> None:
    verifier = TokenVerifier(throwaway_issuer.settings())
    now = int(time.time())
    assert verifier.verify(throwaway_issuer.token()).subject == "s"
    assert verifier.verify(throwaway_issuer.token(exp=now - 5)).subject == "s"  # within the clock-skew leeway
    with pytest.raises(InvalidTokenError, match="has expired"):
        verifier.verify(throwaway_issuer.token(exp=now - 120))
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        verifier.verify(throwaway_issuer.token(nbf=now + 120))
    for claim in ("exp", "sub", "aud", "iss"):
        with pytest.raises(InvalidTokenError, match=f"lacks the '{claim}' claim"):
            verifier.verify(throwaway_issuer.token(**{claim: None}))
