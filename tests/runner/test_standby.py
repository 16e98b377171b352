"""The standby runner's side: what it builds before its run, when the run may use it, and the handover."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hawk_runner import standby
from hawk_runner.plan import RunPlan
from inspect_ai import Task

from tests.grids import EXAMPLES

TASK_FILE = EXAMPLES / "tasks" / "arithmetic.py"


def _plan(n: int = 3, environment: dict[str, str] | None = None) -> RunPlan:
    cell = {
        "name": "addition",
        "task": {"kind": "file", "ref": f"{TASK_FILE}@addition", "args": {"n": n}},
        "task_label": "addition",
        "model": {"name": "hawk-mock/a"},
        "model_label": "hawk-mock/a",
    }
    return RunPlan.model_validate(
        {"eval_set_id": "es", "log_dir": "/tmp/es", "cells": [cell], "environment": environment or {}}
    )


@pytest.fixture(autouse=True)
def _restored_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    standby._prebuilt = None


def _lines(*documents: dict[str, object]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(d) + "\n" for d in documents))


def test_the_plan_s_tasks_are_built_once_for_that_plan_only() -> None:
    plan = _plan(environment={"HAWK_TEST_STANDBY": "set"})
    standby.build_ahead(plan)
    assert "HAWK_TEST_STANDBY" not in os.environ  # built under the plan's environment, which is then restored
    assert standby.take_prebuilt_tasks(_plan(n=4, environment={"HAWK_TEST_STANDBY": "set"})) is None
    standby.build_ahead(plan)
    assert standby.take_prebuilt_tasks(_plan(environment={"HAWK_TEST_STANDBY": "other"})) is None
    standby.build_ahead(plan)
    tasks = standby.take_prebuilt_tasks(plan)
    assert tasks is not None and [t.name for t in tasks] == ["addition"] and isinstance(tasks[0], Task)
    assert len(tasks[0].dataset) == 3
    assert standby.take_prebuilt_tasks(plan) is None  # handed out once


def test_a_plan_that_cannot_be_built_leaves_the_building_to_the_run(tmp_path: Path) -> None:
    broken = _plan().model_dump(mode="json")
    broken["cells"][0]["task"]["ref"] = f"{tmp_path / 'missing.py'}@addition"
    standby.build_ahead(RunPlan.model_validate(broken))
    assert standby.take_prebuilt_tasks(RunPlan.model_validate(broken)) is None


def test_the_plan_line_adds_to_the_environment_and_the_run_line_replaces_it() -> None:
    os.environ["HAWK_TEST_ONLY_AT_START"] = "1"
    seen: list[tuple[str | None, str | None]] = []

    def on_environment() -> None:
        seen.append((os.environ.get("HAWK_TEST_SECRET"), os.environ.get("DAGSTER_PIPES_CONTEXT")))

    plan = _plan()
    run_environment = {k: v for k, v in os.environ.items() if k != "HAWK_TEST_ONLY_AT_START"}
    run_environment.update({"DAGSTER_PIPES_CONTEXT": "from-the-step", "HAWK_TEST_SECRET": "s3cret"})
    lines = _lines(
        {"plan": plan.model_dump(mode="json"), "env": {"HAWK_TEST_SECRET": "s3cret"}},
        {"env": run_environment},
    )
    assert standby.wait_for_run(lines, on_environment)
    assert seen == [("s3cret", None), ("s3cret", "from-the-step")]
    assert "HAWK_TEST_ONLY_AT_START" not in os.environ
    assert standby.take_prebuilt_tasks(plan) is not None


@pytest.mark.parametrize(
    "lines", ["", json.dumps({"plan": _plan().model_dump(mode="json")}) + "\n", json.dumps({}) + "\n"]
)
def test_input_ending_before_the_run_means_no_run(lines: str) -> None:
    before = dict(os.environ)
    assert not standby.wait_for_run(io.StringIO(lines), lambda: None)
    assert dict(os.environ) == before


def test_a_task_file_that_fails_to_import_fails_the_run_with_its_own_error(tmp_path: Path) -> None:
    from hawk_runner.tasks import TaskLoadError, build_task

    broken_file = tmp_path / "broken_tasks.py"
    broken_file.write_text("raise RuntimeError('the dataset is not there')\n")
    broken = _plan().model_dump(mode="json")
    broken["cells"][0]["task"]["ref"] = f"{broken_file}@addition"
    plan = RunPlan.model_validate(broken)
    standby.build_ahead(plan)
    assert standby.take_prebuilt_tasks(plan) is None
    with pytest.raises(TaskLoadError, match="the dataset is not there"):
        build_task(plan.cells[0])
