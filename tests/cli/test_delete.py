"""``hawk delete`` on a running local eval set: its run is stopped (cancelled), it leaves listings, its logs stay."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import HawkEnv
from tests.grids import write_gated_grid

pytestmark = pytest.mark.slow


def _report(hawk_env: HawkEnv, eval_set_id: str) -> dict[str, Any] | None:
    proc = hawk_env.run("status", eval_set_id)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def test_deleting_a_running_eval_set(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_gated_grid(tmp_path / "cfg", "doomed", tmp_path / "never")
    run = hawk_env.popen("local", "eval-set", str(config), "--skip-confirm")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            report = _report(hawk_env, "doomed")
            if report and report["state"] == "running" and report["cells"][0]["source"] == "progress":
                break
            time.sleep(0.5)
        else:
            pytest.fail("the eval set never started running")

        # Not on a terminal and without --yes: nothing happens.
        refused = hawk_env.run("delete", "doomed")
        assert refused.returncode == 2 and "pass --yes" in refused.stderr
        assert "will stop run " in refused.stdout
        assert _report(hawk_env, "doomed")["state"] == "running"  # type: ignore[index]

        deleted = hawk_env.run("delete", "--yes")  # the default: the last eval set run here
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
        run_id = report["runs"][0]["run_id"]
        assert f"stopped run {run_id}" in deleted.stdout and "deleted eval set doomed" in deleted.stdout
        run.communicate(timeout=120)  # the run's own process ends: it was told to stop
    finally:
        if run.poll() is None:
            run.kill()

    after = _report(hawk_env, "doomed")
    assert after is not None and after["state"] == "canceled" and after["runs"][0]["status"] == "CANCELED"
    assert list((hawk_env.root / "evals" / "doomed").glob("*.eval")), "its logs are kept"
    listed = json.loads(hawk_env.run("list", "eval-sets", "--format", "json").stdout)
    assert [row["eval_set_id"] for row in listed] == []
    (hidden,) = json.loads(hawk_env.run("list", "eval-sets", "--include-deleted", "--format", "json").stdout)
    assert hidden["eval_set_id"] == "doomed" and hidden["deleted_by"] and hidden["deleted_at"]
    assert hawk_env.run("delete", "never-was", "--yes").returncode == 2
