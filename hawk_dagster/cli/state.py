"""What the CLI remembers per user: the last eval set this user ran, so ``hawk list samples`` needs no id.

Kept per kind (eval sets here; scans get their own file), unlike the reference system, whose single "last id" made a
destructive default hit the wrong kind of job.
"""

from __future__ import annotations

import os
from pathlib import Path


def _state_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hawk-dagster"


def _remember(name: str, value: str) -> None:
    try:
        folder = _state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(value + "\n")
    except OSError:  # a read-only home must not fail a run
        pass


def _last(name: str) -> str | None:
    try:
        value = (_state_dir() / name).read_text().strip()
    except OSError:
        return None
    return value or None


def remember_eval_set(eval_set_id: str) -> None:
    _remember("last-eval-set-id", eval_set_id)


def last_eval_set() -> str | None:
    return _last("last-eval-set-id")


def remember_scan(scan_id: str) -> None:
    _remember("last-scan-id", scan_id)


def last_scan() -> str | None:
    return _last("last-scan-id")
