"""One edit request, start to end: refuse running evals, rewrite each log once, re-import it, record the audit rows.

Per log, in this order (the log is the source of truth):

1. the log is rewritten with all of its edits in one read-modify-write (``log_file.rewrite_log``: a lock locally, a
   conditional PUT on S3), refused when its eval is still running;
2. the warehouse re-imports that log (``importer.import_log``), so listings show the new values at once; a later
   import reads the same edited log and cannot undo the edit;
3. the ``sample_edit`` rows are inserted;
4. ``on_log`` is called (the CLI reports the edit to Dagster).

If the process dies after 1 and before 3, the log holds the edits (with the request id in their provenance) and the
audit rows are missing: running the same request file again finds its edits already in the log, writes nothing to
it, and records the missing rows (``already applied``). The request id is a hash of the author and the edits, so the
same file from the same author is the same request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hawk_dagster.edits.log_edits import EvalRunningError, LogMismatchError, LogOutcome, apply_to_log
from hawk_dagster.edits.log_file import LogChangedError, rewrite_log, runner_holding
from hawk_dagster.edits.targets import EditPlan, LogPlan

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog
    from sqlalchemy import Engine

    from hawk_dagster.access.principal import Principal
    from hawk_dagster.warehouse.ingest.importer import LogImportResult


def author_of(principal: Principal) -> str:
    """Who an edit is attributed to: the token's subject (the OS user locally)."""
    return principal.subject


@dataclass
class LogResult:
    plan: LogPlan
    outcome: LogOutcome | None = None
    imported: LogImportResult | None = None
    recorded: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass
class EditResult:
    request_id: str
    author: str
    logs: list[LogResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(log.error is None for log in self.logs)


def refuse_running(plan: EditPlan) -> None:
    """Raise :class:`EvalRunningError` naming every log whose eval is running: its status is ``started``, or a
    runner holds its folder (it may resume or retry the task and write over the edit)."""
    from hawk_dagster.warehouse.ingest.eval_zip import read_log_header

    problems: list[str] = []
    for log in plan.logs:
        holder = runner_holding(log.location)
        if holder is not None:
            problems.append(
                f"eval set {log.eval_set_id}, task {log.task_id}: {holder} is writing its logs; edit after it ends"
            )
            continue
        if read_log_header(log.location).status == "started":
            problems.append(
                f"eval set {log.eval_set_id}, task {log.task_id}: its log ({log.location}) is still 'started': "
                "the eval is running, or was interrupted and will resume; edit it once it has finished"
            )
    if problems:
        raise EvalRunningError("refused, nothing was changed:\n" + "\n".join(problems))


def apply_plan(
    engine: Engine,
    plan: EditPlan,
    principal: Principal,
    *,
    now: datetime | None = None,
    on_log: Callable[[LogResult], None] | None = None,
) -> EditResult:
    """Apply a validated plan (see :func:`hawk_dagster.edits.targets.plan_edits`). Raises
    :class:`EvalRunningError` before changing anything when a log's eval is running; a log that fails later is
    reported in its :class:`LogResult` and the other logs still apply."""
    from hawk_dagster.edits.audit import record_edits
    from hawk_dagster.warehouse.ingest.importer import LogStatus, import_log

    author = author_of(principal)
    request_id = plan.request.request_id(author)
    refuse_running(plan)
    when = now or datetime.now(UTC)
    result = EditResult(request_id, author)
    for log_plan in plan.logs:
        started = time.monotonic()
        log_result = LogResult(log_plan)
        result.logs.append(log_result)

        def edit(log: EvalLog, log_plan: LogPlan = log_plan) -> tuple[EvalLog | None, LogOutcome]:
            new_log, outcome = apply_to_log(
                log, log_plan.edits, author=author, request_id=request_id, now=when
            )
            return (new_log if outcome.changed else None), outcome

        try:
            log_result.outcome = rewrite_log(log_plan.location, edit)
        except (EvalRunningError, LogMismatchError, LogChangedError) as exc:
            log_result.error = str(exc)
            log_result.seconds = time.monotonic() - started
            continue
        log_result.imported = import_log(engine, log_plan.eval_set_id, log_plan.location)
        if log_result.imported.status == LogStatus.FAILED:
            log_result.error = (
                f"the log was edited, but its warehouse import failed ({log_result.imported.error}); the next "
                "import of the eval set picks the edits up"
            )
        log_result.recorded = record_edits(
            engine, log_plan, log_result.outcome.edits, request_id=request_id, author=author
        )
        log_result.seconds = time.monotonic() - started
        if on_log is not None:
            on_log(log_result)
    return result


SHOWN = 20
"""Edits listed one by one in a plan's summary; the rest are counted."""


def describe_plan(plan: EditPlan) -> str:
    """What a request will change, for the confirmation prompt (the CLI's, locally or through the API)."""
    import json
    from pathlib import PurePosixPath

    lines = [f"{len(plan.request.edits)} edit(s) in {len(plan.logs)} log(s):"]
    shown = 0
    for log in plan.logs:
        kinds: dict[str, int] = {}
        for edit in log.edits:
            kinds[edit.type] = kinds.get(edit.type, 0) + 1
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        name = PurePosixPath(log.location).name
        lines.append(f"  eval set {log.eval_set_id}, task {log.task_id} ({name}): {counts}")
        for edit in log.edits:
            if shown >= SHOWN:
                break
            shown += 1
            target = log.targets[edit.sample_uuid]
            what = (
                edit.type
                if not edit.scorer
                else f"{edit.scorer}: "
                + ", ".join(
                    f"{name} -> {json.dumps(value, default=str)[:60]}" for name, value in edit.changes
                )
            )
            lines.append(f"    {edit.sample_uuid} (id {target.sample_id}, epoch {target.epoch}) {what}")
    if shown < len(plan.request.edits):
        lines.append(f"    ... and {len(plan.request.edits) - shown} more")
    return "\n".join(lines)


def result_body(result: EditResult) -> dict[str, Any]:
    """What a request did, per log, as JSON (``hawk edit-samples --format json`` and the API's answer)."""
    rows: list[dict[str, Any]] = []
    for log in result.logs:
        edits = log.outcome.edits if log.outcome else []
        rows.append(
            {
                "eval_set_id": log.plan.eval_set_id,
                "task_id": log.plan.task_id,
                "log": log.plan.location,
                "applied": sum(1 for e in edits if e.status == "applied"),
                "already_applied": sum(1 for e in edits if e.status == "already applied"),
                "unchanged": sum(1 for e in edits if e.status == "unchanged"),
                "recorded": log.recorded,
                "metrics_recomputed": log.outcome.metrics_recomputed if log.outcome else False,
                "metrics_note": (log.outcome.metrics_note or None) if log.outcome else None,
                "import": log.imported.status.value if log.imported else None,
                "seconds": round(log.seconds, 2),
                "error": log.error,
            }
        )
    return {"request_id": result.request_id, "author": result.author, "ok": result.ok, "logs": rows}
