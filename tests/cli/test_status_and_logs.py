"""``hawk status`` and ``hawk logs`` on a real local run: while it runs (progress from the runner, logs followed to the
end, each line once) and after every process is gone (from the logs, Dagster's run history and the warehouse)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

from tests.cli.conftest import HawkEnv, live_report, wait_for
from tests.grids import write_gated_grid

pytestmark = pytest.mark.slow


def _status(hawk_env: HawkEnv, *args: str) -> dict[str, Any]:
    proc = hawk_env.run("status", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def test_status_and_logs_while_running_and_after(hawk_env: HawkEnv, tmp_path: Path) -> None:
    # The samples wait for a file the test creates: the run is surely running while the test looks at it.
    gate = tmp_path / "release"
    config = write_gated_grid(tmp_path / "cfg", "watched", gate, samples=8)
    run = hawk_env.popen("local", "eval-set", str(config), "--skip-confirm")
    # read its output as it comes: a full pipe would block the command (and its progress) while the test waits
    lines: list[str] = []
    drain = threading.Thread(target=lambda: lines.extend(run.stdout or ()), daemon=True)
    drain.start()
    try:

        def progress() -> dict[str, Any] | None:
            if run.poll() is not None:  # say why instead of waiting out the timeout
                drain.join(10)
                pytest.fail(f"hawk local eval-set ended ({run.returncode}) first:\n{''.join(lines)[-4000:]}")
            return live_report(hawk_env, "watched")

        running = wait_for("the runner's first progress in `hawk status`", progress, 240)
        follower = hawk_env.popen("logs", "watched", "-f")
        gate.touch()
        (cell,) = running["cells"]
        assert (cell["task"], cell["model"], cell["state"]) == ("gated", "hawk-mock/careful", "running")
        assert cell["samples"] == {"done": 0, "total": 8, "errors": 0, "reused": 0}
        assert (
            running["runs"][0]["status"] == "STARTED"
            and running["runs"][0]["source"] == "hawk local eval-set"
        )
        assert running["eval_set"]["cells"] == 1 and running["eval_set"]["created_by"]

        run.wait(timeout=300)
        drain.join(30)
        output = "".join(lines)
        assert run.returncode == 0, output
        followed, _ = follower.communicate(timeout=120)  # ends by itself once the run has ended
        assert follower.returncode == 0, followed
    finally:
        for process in (run, locals().get("follower")):
            if process is not None and process.poll() is None:
                process.kill()

    # Every line once: following from mid-run printed exactly what reading the whole history prints afterwards.
    whole = hawk_env.run("logs", "watched")
    assert whole.returncode == 0, whole.stderr
    followed_lines = [line for line in followed.splitlines() if line.strip()]
    whole_lines = [line for line in whole.stdout.splitlines() if line.strip()]
    assert Counter(followed_lines) == Counter(whole_lines)
    events = [line for line in whole_lines if not line.startswith(" ")]
    assert len(events) == len(set(events)), "an event was printed twice"
    assert any("progress gated [hawk-mock/careful]: 8/8 samples" in line for line in events)
    assert any('Finished execution of step "eval_logs"' in line for line in events)
    assert any("OUTPUT" in line and "runner: hawk-runner" in line for line in whole_lines)

    # --tail and --since pick from each source; a bad duration is bad input.
    tail = hawk_env.run("logs", "watched", "--tail", "2")
    assert len([line for line in tail.stdout.splitlines() if not line.startswith(" ")]) == 2
    assert tail.stdout.splitlines()[:2] == events[-2:]
    assert hawk_env.run("logs", "watched", "--since", "1d").stdout.count("\n") == whole.stdout.count("\n")
    bad = hawk_env.run("logs", "watched", "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday' is not a duration" in bad.stderr

    # After the run, with no process left: the same report from the logs, the run history and the warehouse; the
    # default id is the last one run here; the report follows its published schema.
    done = _status(hawk_env)
    schema = json.loads(hawk_env.run("schema", "status").stdout)
    jsonschema.validate(done, schema)
    assert done["eval_set"]["id"] == "watched" and done["state"] == "succeeded"
    (cell,) = done["cells"]
    assert cell["source"] == "log" and cell["state"] == "success"
    assert cell["samples"] == {"done": 8, "total": 8, "errors": 0, "reused": 0}
    assert cell["tokens"]["hawk-mock/careful"]["total"] > 0 and cell["attempts"] == 1
    assert done["runs"][0]["url"].endswith(f"/runs/{running['runs'][0]['run_id']}")
    assert done["runs"][0]["ended_at"] and done["errors"] == []
    warehouse = done["warehouse"]
    assert (warehouse["state"], warehouse["samples_in_logs"], warehouse["samples_in_warehouse"]) == (
        "imported",
        8,
        8,
    )
    assert warehouse["last_import"]
    assert done["kubernetes"] is None  # a local deployment has no pods to show

    # A warehouse that lost rows says so, naming the task.
    engine = sa.create_engine(hawk_env.warehouse_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM sample WHERE pk IN (SELECT s.pk FROM sample s JOIN eval e ON s.eval_pk = e.pk "
                "WHERE e.eval_set_id = 'watched' LIMIT 3)"
            )
        )
    engine.dispose()
    stale = _status(hawk_env, "watched")["warehouse"]
    assert stale["state"] == "stale" and list(stale["mismatched"].values()) == [{"logs": 8, "warehouse": 5}]

    unknown = hawk_env.run("status", "never-ran")
    assert unknown.returncode == 2 and "eval set 'never-ran' is not known" in unknown.stderr
    assert hawk_env.run("logs", "never-ran").returncode == 2
