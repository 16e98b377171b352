"""``python -m hawk_dagster.warehouse.schema.migrate``: the command the Helm chart's migration hook runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from hawk_dagster.warehouse.schema import migrate

COMMAND = [sys.executable, "-m", "hawk_dagster.warehouse.schema.migrate"]


def _run(env_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HAWK_WAREHOUSE_URL"}
    if env_url is not None:
        env["HAWK_WAREHOUSE_URL"] = env_url
    return subprocess.run(COMMAND, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_upgrades_an_empty_warehouse_to_head_then_is_a_no_op(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    first = _run(url)
    assert first.returncode == 0, first.stderr
    assert migrate.current_revision(url) == migrate.HEAD_REVISION
    assert f"revision none -> {migrate.HEAD_REVISION}" in first.stdout
    again = _run(url)
    assert again.returncode == 0, again.stderr
    assert f"revision {migrate.HEAD_REVISION} -> {migrate.HEAD_REVISION}" in again.stdout


def test_without_a_url_it_exits_2_naming_the_variable() -> None:
    result = _run(None)
    assert result.returncode == 2
    assert "HAWK_WAREHOUSE_URL is not set" in result.stderr


def test_a_failure_exits_1_without_the_password() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    result = _run("postgresql://hawk:s3cret-pw@127.0.0.1:1/hawk")
    assert result.returncode == 1
    assert "warehouse migration failed on postgresql://hawk:***@127.0.0.1:1/hawk" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
