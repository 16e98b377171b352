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


def remember_eval_set(eval_set_id: str) -> None:
    try:
        folder = _state_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last-eval-set-id").write_text(eval_set_id + "\n")
    except OSError:  # a read-only home must not fail a run
        pass


def last_eval_set() -> str | None:
    try:
        value = (_state_dir() / "last-eval-set-id").read_text().strip()
    except OSError:
        return None
    return value or None
