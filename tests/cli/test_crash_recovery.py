"""A SIGKILLed ``hawk local eval-set``: its runner stops, a second run is refused while one holds the log folder,
run monitoring marks the dead run failed, and the embedded server is not left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.cli.conftest import HAWK
from tests.dagster_servers import dagster_server
from tests.grids import write_grid

pytestmark = pytest.mark.slow

RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def _runner(session: int) -> psutil.Process | None:
    for process in psutil.process_iter(["cmdline"]):
        try:
            if os.getsid(process.pid) == session and "hawk_runner" in (process.info["cmdline"] or []):
                return process
        except (ProcessLookupError, psutil.Error):
            continue
    return None


def _wait(what: str, probe, timeout: float) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_a_killed_local_run_cleans_up_after_itself(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {
        **os.environ,
        "HAWK_STORAGE_ROOT": str(root),
        "HAWK_EMBEDDED_PG_IDLE_STOP": "5",  # the embedded server of this root, stopped soon after its last user
    }
    env.pop("HAWK_WAREHOUSE_URL", None)
    config = write_grid(
        tmp_path / "cfg",
        eval_set_id="crashy",
        tasks=[{"path": "tasks/arithmetic.py", "items": [{"name": "addition", "args": {"n": 40}}]}],
        agents=[],
        models=[{"items": [{"name": "hawk-mock/slow", "args": {"latency": 0.5}}]}],
        max_samples=1,
    )
    command = [*HAWK, "local", "eval-set", str(config), "--skip-confirm"]
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        assert first.stdout is not None
        lines = iter(first.stdout.readline, "")
        header = next((line for line in lines if "Dagster run " in line), "")
        assert header, "hawk local eval-set ended before naming its run"
        run_id = header.rsplit("Dagster run ", 1)[1].strip()
        runner = _wait("the runner to start", lambda: _runner(first.pid), 120)
        assert isinstance(runner, psutil.Process)
        _wait("the embedded server", lambda: (root / "pg" / "postmaster.pid").exists(), 120)

        # A second run of the same eval set while the first one's runner holds the log folder: refused, saying who.
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 1, second.stdout + second.stderr
        (refusal,) = [line for line in second.stdout.splitlines() if "step eval_logs failed" in line]
        assert refusal.startswith("step eval_logs failed: eval set crashy's log folder (")
        assert (
            f"is in use by another runner (pid {runner.pid} on" in refusal
            and f"Dagster run {run_id}" in refusal
        )
        assert "Traceback" not in second.stdout + second.stderr

        os.kill(first.pid, signal.SIGKILL)  # the CLI only, as `kill -9 <pid>` would
        first.wait()
        try:
            runner.wait(timeout=15)
        except psutil.TimeoutExpired:
            pytest.fail("the runner outlived the killed hawk process")
    finally:
        try:
            os.killpg(first.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # Run monitoring (in `hawk dev`'s daemon) fails the dead run instead of leaving it STARTED for ever.
    with dagster_server(
        [sys.executable, "-m", "hawk_dagster.cli", "dev"],
        env=env,
        log_path=tmp_path / "dev.log",
        hawk_dev=True,
    ) as server:

        def status() -> str | None:
            value = server.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
            return value if value != "STARTED" else None

        assert server.wait_for("run monitoring to fail the run", status, timeout=150) == "FAILURE"

    # Nobody uses the embedded server any more: it stops by itself.
    _wait("the embedded server to stop", lambda: not (root / "pg" / "postmaster.pid").exists(), 90)
