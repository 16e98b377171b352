"""Where the CLI keeps a user's tokens: the system keyring, or a private file when there is no usable keyring.

One entry per provider and client (``issuer client_id``), so switching deployments does not mix tokens. The
keyring is used when the system has a real one (macOS Keychain, Windows Credential Locker, Secret Service/KWallet:
priority >= 1) or when the user configured one explicitly (``PYTHON_KEYRING_BACKEND`` or keyring's config file).
Headless machines have none (keyring's fail/null backends): the tokens go to ``tokens.json`` under the user config
dir (``~/.config/hawk-dagster/``, beside ``last-ids.json``), mode 0600 in a 0700 folder, written whole through a
temporary file and a rename. ``HAWK_TOKEN_STORE=file`` or ``=keyring`` overrides the choice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

STORE_ENV = "HAWK_TOKEN_STORE"
KEYRING_SERVICE = "hawk-dagster"
TOKENS_FILE = "tokens.json"


class TokenStoreError(Exception):
    """The store could not be read or written (message safe to show)."""


@dataclass(frozen=True)
class StoredTokens:
    """What a sign-in leaves behind."""

    access_token: str
    expires_at: float
    """Epoch seconds when the access token expires."""
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str | None = None

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoredTokens | None:
        """None when the text is not a stored token set (corrupt or from another version)."""
        try:
            data = json.loads(text)
            return cls(
                access_token=str(data["access_token"]),
                expires_at=float(data["expires_at"]),
                refresh_token=data.get("refresh_token"),
                id_token=data.get("id_token"),
                scope=data.get("scope"),
            )
        except (ValueError, KeyError, TypeError):
            return None


def entry_name(issuer: str, client_id: str) -> str:
    return f"{issuer.rstrip('/')} {client_id}"


class TokenStore(Protocol):
    description: str
    """Where the tokens are, for messages (never the tokens)."""

    def load(self, entry: str) -> StoredTokens | None: ...

    def save(self, entry: str, tokens: StoredTokens) -> None: ...

    def delete(self, entry: str) -> bool:
        """Forget the entry; True when there was one."""
        ...


def user_config_dir() -> Path:
    """The CLI's per-user folder (the same rule as ``hawk_dagster.cli.state``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hawk-dagster"


class FileTokenStore:
    """``tokens.json``: a JSON object of entries, readable by the user only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_config_dir() / TOKENS_FILE
        self.description = f"file {self.path}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as ex:
            raise TokenStoreError(f"cannot read the token file {self.path}: {ex}") from ex
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tokens-", suffix=".tmp")  # created 0600
            try:
                with os.fdopen(fd, "w") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as ex:
            raise TokenStoreError(f"cannot write the token file {self.path}: {ex}") from ex

    def load(self, entry: str) -> StoredTokens | None:
        value = self._read().get(entry)
        return StoredTokens.from_json(json.dumps(value)) if isinstance(value, dict) else None

    def save(self, entry: str, tokens: StoredTokens) -> None:
        data = self._read()
        data[entry] = json.loads(tokens.to_json())
        self._write(data)

    def delete(self, entry: str) -> bool:
        data = self._read()
        if entry not in data:
            return False
        del data[entry]
        self._write(data)
        return True


class KeyringTokenStore:
    """The system keyring: one secret per entry (service ``hawk-dagster``, user name = the entry)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.description = f"keyring {type(backend).__module__}.{type(backend).__qualname__}"

    def load(self, entry: str) -> StoredTokens | None:
        from keyring.errors import KeyringError

        try:
            text = self.backend.get_password(KEYRING_SERVICE, entry)
        except KeyringError as ex:
            raise TokenStoreError(f"cannot read from the {self.description}: {ex}") from ex
        return StoredTokens.from_json(text) if text else None

    def save(self, entry: str, tokens: StoredTokens) -> None:
        from keyring.errors import KeyringError

        try:
            self.backend.set_password(KEYRING_SERVICE, entry, tokens.to_json())
        except KeyringError as ex:
            raise TokenStoreError(f"cannot write to the {self.description}: {ex}") from ex

    def delete(self, entry: str) -> bool:
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            self.backend.delete_password(KEYRING_SERVICE, entry)
        except PasswordDeleteError:
            return False
        except KeyringError as ex:
            raise TokenStoreError(f"cannot delete from the {self.description}: {ex}") from ex
        return True


def usable_keyring() -> Any | None:
    """The system keyring backend, or None when there is no usable one (see the module docstring)."""
    try:
        import keyring
        import keyring.core
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not break signing in
        log.warning("the keyring could not be loaded; using the token file", exc_info=True)
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    explicit = bool(os.environ.get("PYTHON_KEYRING_BACKEND")) or keyring.core.load_config() is not None
    priority: float = getattr(backend, "priority", 0)
    return backend if explicit or priority >= 1 else None


def open_token_store() -> TokenStore:
    """The keyring when usable, else the token file; ``HAWK_TOKEN_STORE`` (``keyring``/``file``) forces one."""
    choice = os.environ.get(STORE_ENV, "").strip().lower()
    if choice not in ("", "keyring", "file"):
        raise TokenStoreError(f"{STORE_ENV} must be 'keyring' or 'file', got {choice!r}")
    if choice == "file":
        return FileTokenStore()
    backend = usable_keyring()
    if backend is not None:
        return KeyringTokenStore(backend)
    if choice == "keyring":
        raise TokenStoreError(f"{STORE_ENV}=keyring, but this system has no usable keyring")
    return FileTokenStore()


@contextlib.contextmanager
def token_lock(entry: str) -> Iterator[None]:
    """Serialise refreshes of one entry across processes: with rotating refresh tokens, two processes refreshing
    with the same token would leave one of them (or, with reuse detection, both) signed out."""
    from filelock import FileLock, Timeout

    folder = user_config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = FileLock(str(folder / f".tokens-{hashlib.sha256(entry.encode()).hexdigest()[:16]}.lock"))
    try:
        lock.acquire(timeout=60)
    except Timeout as ex:
        raise TokenStoreError(
            f"another hawk process has held the token lock {lock.lock_file} for 60 s"
        ) from ex
    try:
        yield
    finally:
        lock.release()
