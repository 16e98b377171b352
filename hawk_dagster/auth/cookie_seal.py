"""Sealed cookies: what browser sign-in keeps in the browser, encrypted and authenticated with the server's secret.

Fernet (``cryptography``: AES-128-CBC + HMAC-SHA256, with a timestamp) rather than a signature alone: the cookies
hold the user's tokens, and a cookie that leaks (a proxy's log, a screenshot of devtools) must not hand over the
refresh token itself to whoever can reach the provider. Each sealed value names its purpose, so a cookie of one kind
cannot stand in for another, and carries its age, so one older than its purpose allows is refused.

The secret: ``HAWK_SESSION_SECRET`` (at least 32 characters; several, separated by spaces or commas, rotate it: the
first seals, every one opens). Keys are derived from it with HKDF, so the secret itself never keys anything.
Without one the server makes a key per process (:func:`process_seal`): sign-ins then end when the process restarts
and fail across replicas, which is why the Helm chart refuses several replicas without a secret.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_SECRET_ENV: Final = "HAWK_SESSION_SECRET"
MIN_SECRET_LENGTH: Final = 32
_HKDF_INFO: Final = b"hawk-dagster browser session cookies v1"


class SessionSecretError(ValueError):
    """``HAWK_SESSION_SECRET`` is malformed; the message names it."""


def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class CookieSeal:
    """Seals and opens small JSON payloads for one purpose each (``seal("session", {...})``)."""

    def __init__(self, secrets_: list[str]) -> None:
        if not secrets_:
            raise SessionSecretError(f"{SESSION_SECRET_ENV} holds no secret")
        self._fernet = MultiFernet([_fernet(secret) for secret in secrets_])

    def seal(self, purpose: str, payload: Mapping[str, Any]) -> str:
        body = json.dumps({"p": purpose, **payload}, separators=(",", ":")).encode()
        return self._fernet.encrypt(body).decode("ascii")

    def open(self, purpose: str, value: str | None, *, max_age: int) -> dict[str, Any] | None:
        """The payload, or None when the value is absent, altered, sealed with another secret, older than
        ``max_age`` seconds, or sealed for another purpose."""
        if not value:
            return None
        try:
            body = json.loads(self._fernet.decrypt(value.encode("ascii"), ttl=max_age))
        except (InvalidToken, UnicodeError, ValueError):
            return None
        if not isinstance(body, dict) or body.pop("p", None) != purpose:
            return None
        return body


def seal_from_env(environ: Mapping[str, str] = os.environ) -> CookieSeal | None:
    """The seal of ``HAWK_SESSION_SECRET``, or None when it is unset; raises :class:`SessionSecretError` naming the
    variable when a secret is too short."""
    raw = environ.get(SESSION_SECRET_ENV, "")
    parts = [part for part in raw.replace(",", " ").split() if part]
    if not parts:
        return None
    short = [i + 1 for i, part in enumerate(parts) if len(part) < MIN_SECRET_LENGTH]
    if short:
        raise SessionSecretError(
            f"{SESSION_SECRET_ENV}: secret number {short[0]} is shorter than {MIN_SECRET_LENGTH} characters; "
            "make one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return CookieSeal(parts)


def process_seal() -> CookieSeal:
    """A seal with a random key of this process only (sign-ins end at restart and do not cross replicas)."""
    return CookieSeal([secrets.token_urlsafe(48)])
