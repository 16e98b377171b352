"""Where tokens are kept: a real keyring backend when one is usable or configured, else a 0600 file."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null
from keyrings.alt.file import PlaintextKeyring

from hawk_dagster.auth.token_store import (
    KEYRING_SERVICE,
    FileTokenStore,
    KeyringTokenStore,
    StoredTokens,
    TokenStoreError,
    open_token_store,
    usable_keyring,
)

TOKENS = StoredTokens(access_token="at-1", expires_at=time.time() + 600, refresh_token="rt-1", scope="openid")


@pytest.fixture
def keyring_backend(monkeypatch: pytest.MonkeyPatch) -> object:
    """Restore keyring's process-wide backend after a test that sets one."""
    previous = keyring.get_keyring()
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("HAWK_TOKEN_STORE", raising=False)
    yield previous
    keyring.set_keyring(previous)


def test_file_store_is_private_and_whole(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "hawk-dagster" / "tokens.json"
    store = FileTokenStore(path)
    assert store.load("a") is None
    store.save("a", TOKENS)
    store.save("b", StoredTokens(access_token="at-b", expires_at=1.0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load("a") == TOKENS
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json"]  # no temporary file left behind
    assert store.delete("a") and not store.delete("a")
    assert store.load("a") is None and store.load("b") is not None


def test_file_store_rewrites_a_loosened_file_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.save("a", TOKENS)
    os.chmod(path, 0o644)
    store.save("a", TOKENS)  # a new file replaces it, created 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_corrupt_entries_read_as_absent(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"a": {"access_token": "x"}, "b": 3}')
    store = FileTokenStore(path)
    assert store.load("a") is None and store.load("b") is None
    path.write_text("not json")
    with pytest.raises(TokenStoreError, match="cannot read the token file"):
        store.load("a")


def test_keyring_store_round_trip(tmp_path: Path) -> None:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")  # type: ignore[misc]
    store = KeyringTokenStore(backend)
    store.save("https://login.example.com cli", TOKENS)
    assert backend.get_password(KEYRING_SERVICE, "https://login.example.com cli") == TOKENS.to_json()
    assert store.load("https://login.example.com cli") == TOKENS
    assert store.delete("https://login.example.com cli") and not store.delete("https://login.example.com cli")
    assert store.load("https://login.example.com cli") is None


def test_no_keyring_on_a_headless_machine_means_the_file(keyring_backend: object) -> None:
    for backend in (fail.Keyring(), null.Keyring()):
        keyring.set_keyring(backend)
        assert usable_keyring() is None
        assert isinstance(open_token_store(), FileTokenStore)


def test_a_low_priority_keyring_is_used_only_when_configured(
    keyring_backend: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(PlaintextKeyring())  # what auto-detection finds when keyrings.alt is installed
    assert usable_keyring() is None
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    store = open_token_store()
    assert isinstance(store, KeyringTokenStore) and isinstance(store.backend, PlaintextKeyring)


def test_store_choice_can_be_forced(keyring_backend: object, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("HAWK_TOKEN_STORE", "keyring")
    with pytest.raises(TokenStoreError, match="no usable keyring"):
        open_token_store()
    monkeypatch.setenv("HAWK_TOKEN_STORE", "file")
    assert isinstance(open_token_store(), FileTokenStore)
    monkeypatch.setenv("HAWK_TOKEN_STORE", "vault")
    with pytest.raises(TokenStoreError, match="HAWK_TOKEN_STORE must be 'keyring' or 'file'"):
        open_token_store()
