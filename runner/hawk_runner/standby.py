"""A runner started before its run: it loads Inspect and builds the plan's tasks while the caller is still starting
Dagster, then waits for the run's environment.

``hawk local eval-set`` spends about two seconds importing Dagster and opening its instance before the ``eval_logs``
step can start a runner, which then spends as long again importing Inspect and building the tasks. On two cores both
can happen at once: the command starts ``python -m hawk_runner --standby`` first thing, and the step hands that
process the run's environment (Pipes' bootstrap variables, the run id) instead of starting a new one.

The standby imports what a run needs at once, then reads two JSON lines on its stdin:

1. ``{"plan": {...}, "env": {...}}``: the plan as the command built it, and variables to add (the secrets, the output
   file); it builds the plan's tasks under the plan's environment. Any failure there is ignored: the run builds them
   again and reports what is wrong.
2. ``{"env": {...}}``: the whole environment of the run; once applied the process runs as a normal runner would.

End of input before the second line (the caller exited, or chose not to use the standby) ends the process quietly.
The run uses the built tasks only when its own plan's cells and environment are exactly the ones they were built
from; otherwise it builds its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai import Task

    from hawk_runner.plan import RunPlan

STANDBY_FLAG = "--standby"

_prebuilt: tuple[str, list[Task]] | None = None


def _tasks_key(plan: RunPlan) -> str:
    """What the tasks are built from: the cells and the environment they are built under."""
    return json.dumps(
        {"cells": [c.model_dump(mode="json") for c in plan.cells], "environment": plan.environment},
        sort_keys=True,
    )


def _import_for_run() -> None:
    from inspect_ai import eval_set  # noqa: F401  (the import is the point: Inspect's start-up)

    from hawk_runner import mock_provider  # noqa: F401
    from hawk_runner.progress import reporting_progress  # noqa: F401
    from hawk_runner.run import execute  # noqa: F401


def build_ahead(plan: RunPlan) -> None:
    """Build ``plan``'s tasks under its environment, to keep for :func:`take_prebuilt_tasks`; on failure keep none."""
    global _prebuilt
    from hawk_runner.run import applied_environment
    from hawk_runner.tasks import build_task

    try:
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


def wait_for_run(stream: IO[str], on_environment: Callable[[], None]) -> bool:
    """Import, build the first line's plan, then take on the run's environment from the second. ``on_environment``
    is called after each change of the environment. ``False`` when the input ends first (no run is coming)."""
    _import_for_run()
    first = stream.readline()
    if not first:
        return False
    from hawk_runner.plan import RunPlan

    document = json.loads(first)
    os.environ.update(document.get("env", {}))
    on_environment()
    try:
        plan = RunPlan.model_validate(document["plan"])
    except (KeyError, ValueError):
        plan = None
    if plan is not None:
        build_ahead(plan)
    second = stream.readline()
    if not second:
        return False
    environment: dict[str, str] = json.loads(second)["env"]
    for key in set(os.environ) - set(environment):
        del os.environ[key]
    os.environ.update(environment)
    on_environment()
    return True
