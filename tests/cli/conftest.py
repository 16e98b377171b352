"""Running the real ``hawk`` command as a subprocess, against a temporary storage root and a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HAWK = [sys.executable, "-m", "hawk_dagster.cli"]


@dataclass
class HawkEnv:
    root: Path
    warehouse_url: str
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 300, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HAWK, *args],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*HAWK, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


@pytest.fixture
def hawk_env(tmp_path: Path, make_database: Callable[..., str]) -> HawkEnv:
    root = tmp_path / "root"
    url = make_database()
    env = {**os.environ, "HAWK_STORAGE_ROOT": str(root), "HAWK_WAREHOUSE_URL": url}
    return HawkEnv(root=root, warehouse_url=url, env=env)
