"""What the CLI remembers per user and storage root: the last eval set and scan that ran there, so ``hawk list
samples`` needs no id.

Kept per storage root (a project's ``.hawk`` folder and a team bucket each have their own "last"), per kind (unlike
the reference system, whose single "last id" made a destructive default hit the wrong kind of job), and set only when
a run starts on this machine: a submission the deployment may still refuse does not become the default.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

EVAL_SET, SCAN = "eval-set", "scan"


def _state_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hawk-dagster" / "last-ids.json"


def _read() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {root: ids for root, ids in data.items() if isinstance(ids, dict)}


def _remember(root: str, kind: str, value: str) -> None:
    data = _read()
    data.setdefault(root, {})[kind] = value
    target = _state_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: two runs finishing together leave one whole file, never a torn one.
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(data, tmp, indent=1, sort_keys=True)
        os.replace(tmp.name, target)
    except OSError:  # a read-only home must not fail a run
        pass


def _last(root: str, kind: str) -> str | None:
    value = _read().get(root, {}).get(kind)
    return value if isinstance(value, str) and value else None


def remember_eval_set(root: str, eval_set_id: str) -> None:
    _remember(root, EVAL_SET, eval_set_id)


def last_eval_set(root: str) -> str | None:
    return _last(root, EVAL_SET)


def remember_scan(root: str, scan_id: str) -> None:
    _remember(root, SCAN, scan_id)


def last_scan(root: str) -> str | None:
    return _last(root, SCAN)
