"""A runner started before its run: it loads Inspect and builds the plan's tasks while the caller is still starting
Dagster, then waits for the run's environment.

``hawk local eval-set`` spends about two seconds importing Dagster and opening its instance before the ``eval_logs``
step can start a runner, which then spends as long again importing Inspect and building the tasks. On two cores both
can happen at once: the command starts ``python -m hawk_runner --standby`` as soon as the plan is valid, and the step
hands that process the run's environment (Pipes' bootstrap variables, the run id) instead of starting a new one.

The protocol is two JSON lines on the standby's stdin:

1. ``{"plan": {...}}``: the plan as the command built it (or ``{}``); the standby imports what a run needs and builds
   this plan's tasks under the plan's environment. Any failure there is ignored: the run builds again and reports it.
2. ``{"env": {...}}``: the whole environment of the run; once applied the process runs as a normal runner would.

End of input before the second line (the caller exited, or chose not to use the standby) ends the process quietly.
The run uses the built tasks only when its own plan's cells and environment are exactly the ones they were built
from; otherwise it builds its own.
"""

from __future__ import annotations

import json
import os
from typing import IO, TYPE_CHECKING, Any

from hawk_runner.plan import RunPlan

if TYPE_CHECKING:
    from inspect_ai import Task

STANDBY_FLAG = "--standby"

_prebuilt: tuple[str, list[Task]] | None = None


def _tasks_key(plan: RunPlan) -> str:
    """What the tasks are built from: the cells and the environment they are built under."""
    return json.dumps(
        {"cells": [c.model_dump(mode="json") for c in plan.cells], "environment": plan.environment},
        sort_keys=True,
    )


def prepare(document: dict[str, Any]) -> None:
    """Import what a run needs and, for a plan, build its tasks to keep for :func:`take_prebuilt_tasks`."""
    global _prebuilt
    from inspect_ai import eval_set  # noqa: F401  (the import is the point: Inspect's start-up)

    from hawk_runner import mock_provider  # noqa: F401
    from hawk_runner.progress import reporting_progress  # noqa: F401
    from hawk_runner.run import applied_environment
    from hawk_runner.tasks import build_task

    if "plan" not in document:
        return
    try:
        plan = RunPlan.model_validate(document["plan"])
        with applied_environment(plan.environment):
            tasks = [build_task(cell) for cell in plan.cells]
    except Exception:
        return  # the run builds the tasks again and reports what is wrong
    _prebuilt = (_tasks_key(plan), tasks)


def take_prebuilt_tasks(plan: RunPlan) -> list[Task] | None:
    """The tasks built for ``plan`` while on standby, once; ``None`` when none were, or for another plan."""
    global _prebuilt
    prebuilt, _prebuilt = _prebuilt, None
    if prebuilt is None or prebuilt[0] != _tasks_key(plan):
        return None
    return prebuilt[1]


def wait_for_run(stream: IO[str]) -> bool:
    """Prepare from the first line, then apply the run's environment from the second. ``False`` when the input ends
    first (no run is coming)."""
    first = stream.readline()
    if not first:
        return False
    prepare(json.loads(first))
    second = stream.readline()
    if not second:
        return False
    environment: dict[str, str] = json.loads(second)["env"]
    for key in set(os.environ) - set(environment):
        del os.environ[key]
    os.environ.update(environment)
    return True
