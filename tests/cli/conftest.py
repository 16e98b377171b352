"""Running the real ``hawk`` command as a subprocess, against a temporary storage root and a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

HAWK = [sys.executable, "-m", "hawk_dagster.cli"]
T = TypeVar("T")


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
    # Without DAGSTER_HOME, as in a researcher's shell: the commands find the root's own instance.
    inherited = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env = {**inherited, "HAWK_STORAGE_ROOT": str(root), "HAWK_WAREHOUSE_URL": url}
    return HawkEnv(root=root, warehouse_url=url, env=env)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """``probe()``'s first truthy answer, polled until ``timeout`` (then the test fails naming ``what``)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def live_report(
    hawk_env: HawkEnv, eval_set_id: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """``hawk status``'s report once the runner reports progress; None before (not submitted yet, or not running)."""
    import json

    proc = hawk_env.run("status", eval_set_id, extra_env=extra_env)
    if proc.returncode == 2:  # not submitted yet
        return None
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    live = report["state"] == "running" and any(c["source"] == "progress" for c in report["cells"])
    return report if live else None
