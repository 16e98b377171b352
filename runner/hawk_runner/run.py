"""Run one eval set: check secrets, build the grid's tasks, call ``inspect_ai.eval_set``, summarise the logs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from hawk_runner.log_lock import hold_output_folder
from hawk_runner.plan import RunPlan
from hawk_runner.reporting import Reporter
from hawk_runner.secrets import check_secrets

# Inspect arguments the platform sets unless the config overrides them (a top-level key of the same name wins).
PLATFORM_DEFAULTS: dict[str, Any] = {
    "display": "none",
    "log_level": "warning",
    # One failing cell must not stop the others; its status is reported per cell and the set can be resumed.
    "continue_on_fail": True,
}


@dataclass(frozen=True)
class CellResult:
    """One task's newest log, summarised; agent and headline as the warehouse stores them (``hawk_runner.log_facts``):
    ``headline_score`` is the score the metric was read from, ``headline_metric`` the metric's own name."""

    task: str
    agent: str | None
    model: str
    status: str
    samples: int
    total: int
    errors: int
    headline_score: str | None
    headline_metric: str | None
    headline_value: float | None
    total_tokens: int
    log: str


@dataclass(frozen=True)
class RunOutcome:
    all_succeeded: bool
    log_dir: str
    cells: list[CellResult]
    duration_s: float

    @property
    def data_version(self) -> str:
        key = sorted((c.log.rsplit("_", 1)[-1], c.status, c.samples) for c in self.cells)
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, Any]:
        return {
            "log_dir": self.log_dir,
            "all_succeeded": self.all_succeeded,
            "cells": [asdict(c) for c in self.cells],
            "samples_completed": sum(c.samples for c in self.cells),
            "samples_errored": sum(c.errors for c in self.cells),
            "total_tokens": sum(c.total_tokens for c in self.cells),
            "duration_s": round(self.duration_s, 2),
        }


@contextmanager
def applied_environment(env: dict[str, str]) -> Iterator[None]:
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def eval_set_kwargs(plan: RunPlan, tmp: str) -> dict[str, Any]:
    from hawk_runner.tasks import build_model

    kwargs: dict[str, Any] = {**PLATFORM_DEFAULTS, **plan.eval_set_args}
    if isinstance(kwargs.get("approval"), dict):
        path = os.path.join(tmp, "approval.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(kwargs["approval"], f)
        kwargs["approval"] = path
    if isinstance(kwargs.get("limit"), list):
        kwargs["limit"] = tuple(kwargs["limit"])
    if isinstance(kwargs.get("epochs"), dict):
        from inspect_ai import Epochs

        kwargs["epochs"] = Epochs(kwargs["epochs"]["epochs"], kwargs["epochs"].get("reducer"))
    if plan.model_roles:
        kwargs["model_roles"] = {role: build_model(spec) for role, spec in plan.model_roles.items()}
    return kwargs


def summarise_logs(log_dir: str) -> list[CellResult]:
    """One row per task in the log dir: its newest log (``hawk_runner.log_choice``, as the importer chooses), read
    from the header and sample summaries."""
    from inspect_ai.log import read_eval_log_sample_summaries

    from hawk_runner.log_dir import task_logs
    from hawk_runner.log_facts import agent_label, headline

    newest, _ = task_logs(log_dir)
    cells: list[CellResult] = []
    for header, info in sorted(newest.values(), key=lambda hi: (hi[0].eval.task, hi[0].eval.model)):
        summaries = read_eval_log_sample_summaries(info)
        results = header.results
        top = headline(header)
        usage = header.stats.model_usage if header.stats else {}
        cells.append(
            CellResult(
                task=header.eval.task,
                agent=agent_label(header),
                model=header.eval.model,
                status=header.status,
                samples=len(summaries),
                total=results.total_samples if results else header.eval.dataset.samples or 0,
                errors=sum(1 for s in summaries if s.error),
                headline_score=top.score if top else None,
                headline_metric=top.metric if top else None,
                headline_value=top.value if top else None,
                total_tokens=sum(u.total_tokens for u in usage.values()),
                log=info.name.rsplit("/", 1)[-1],
            )
        )
    return cells


def set_aside(log_dir: str, reporter: Reporter) -> None:
    """Move superseded logs (a killed run's ``started`` log, once its task finished) out of the way of people browsing
    the folder (:func:`hawk_runner.log_dir.set_aside_superseded`). The run's result does not depend on it."""
    from hawk_runner.log_dir import SUPERSEDED_DIR, set_aside_superseded

    try:
        moved = set_aside_superseded(log_dir)
    except Exception as ex:
        reporter.warning(f"superseded logs left in place: {type(ex).__name__}: {ex}")
        return
    if moved:
        reporter.info(f"{len(moved)} superseded log(s) moved to {SUPERSEDED_DIR}/: {', '.join(moved)}")


def execute(plan: RunPlan, reporter: Reporter) -> RunOutcome:
    """Run the plan's grid to completion (or resume it) and report the result."""
    check_secrets(plan.required_secrets, os.environ)
    started = time.monotonic()
    with (
        hold_output_folder(plan.log_dir, f"eval set {plan.eval_set_id}'s log folder"),
        applied_environment(plan.environment),
        tempfile.TemporaryDirectory(prefix="hawk-runner-") as tmp,
    ):
        from inspect_ai import eval_set

        from hawk_runner import mock_provider  # noqa: F401  (registers hawk-mock even without entry points)
        from hawk_runner.progress import reporting_progress
        from hawk_runner.standby import take_prebuilt_tasks
        from hawk_runner.tasks import build_task

        prebuilt = take_prebuilt_tasks(plan)
        tasks = prebuilt or [build_task(cell) for cell in plan.cells]
        kwargs = eval_set_kwargs(plan, tmp)
        ahead = " (built while the runner waited for its run)" if prebuilt else ""
        reporter.info(f"running {len(tasks)} task(s){ahead} into {plan.log_dir}")
        with reporting_progress(reporter, plan.log_dir):
            succeeded, _ = eval_set(tasks=tasks, log_dir=plan.log_dir, **kwargs)
        set_aside(plan.log_dir, reporter)
        cells = summarise_logs(plan.log_dir)
    outcome = RunOutcome(
        all_succeeded=bool(succeeded) and all(c.status == "success" for c in cells),
        log_dir=plan.log_dir,
        cells=cells,
        duration_s=time.monotonic() - started,
    )
    reporter.materialization(outcome.metadata(), outcome.data_version)
    failed = [f"{c.task} [{c.model}]: {c.status}" for c in cells if c.status != "success"]
    reporter.check(
        "all_cells_succeeded",
        passed=not failed,
        metadata={"failed_cells": failed, "cells": len(cells)},
    )
    return outcome
