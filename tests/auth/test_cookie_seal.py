"""Sealed cookies: what one server seals only it opens, for the purpose it was sealed for, within its age."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from hawk_dagster.auth.cookie_seal import (
    SESSION_SECRET_ENV,
    CookieSeal,
    SessionSecretError,
    process_seal,
    seal_from_env,
)

SECRET = "a-test-secret-that-is-long-enough-0123456789"
OTHER = "another-secret-that-is-long-enough-0123456789"


def test_round_trip_and_the_payload_is_not_readable() -> None:
    seal = CookieSeal([SECRET])
    value = seal.seal("session", {"at": "header.payload.signature", "exp": 12.5})
    assert "header.payload" not in value and SECRET not in value
    assert seal.open("session", value, max_age=60) == {"at": "header.payload.signature", "exp": 12.5}


def test_refused_values() -> None:
    seal = CookieSeal([SECRET])
    value = seal.seal("refresh", {"rt": "x"})
    assert seal.open("session", value, max_age=60) is None  # sealed for another purpose
    assert CookieSeal([OTHER]).open("refresh", value, max_age=60) is None  # another server's secret
    assert (
        seal.open("refresh", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"), max_age=60) is None
    )
    assert seal.open("refresh", "", max_age=60) is None and seal.open("refresh", None, max_age=60) is None
    assert seal.open("refresh", "not a fernet token ☃", max_age=60) is None
    raw = Fernet(Fernet.generate_key()).encrypt(b'{"p": "refresh"}').decode()
    assert seal.open("refresh", raw, max_age=60) is None


def test_too_old_values_are_refused() -> None:
    seal = CookieSeal([SECRET])
    value = seal.seal("login", {"state": "s"})
    time.sleep(1.1)
    assert seal.open("login", value, max_age=0) is None
    assert seal.open("login", value, max_age=60) == {"state": "s"}


def test_rotation_opens_with_every_secret_and_seals_with_the_first() -> None:
    old = CookieSeal([OTHER]).seal("session", {"at": "t"})
    rotated = seal_from_env({SESSION_SECRET_ENV: f"{SECRET}, {OTHER}"})
    assert rotated is not None
    assert rotated.open("session", old, max_age=60) == {"at": "t"}
    assert CookieSeal([SECRET]).open("session", rotated.seal("session", {"at": "u"}), max_age=60) == {
        "at": "u"
    }


def test_settings() -> None:
    assert seal_from_env({}) is None and seal_from_env({SESSION_SECRET_ENV: "  "}) is None
    with pytest.raises(SessionSecretError, match=f"{SESSION_SECRET_ENV}: secret number 2 is shorter than 32"):
        seal_from_env({SESSION_SECRET_ENV: f"{SECRET} short"})
    one, two = process_seal(), process_seal()
    assert two.open("session", one.seal("session", {}), max_age=60) is None  # a key of each process
