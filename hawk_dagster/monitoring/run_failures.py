"""Why a run failed, in one line per failed step: the innermost cause, without Dagster's wrapping or a traceback.

Dagster wraps an exception raised in a step ("Error occurred while materializing asset ...") and keeps the original
as the cause; a researcher needs the original's first line (``OperationalError: connection refused``), and the
reason our own steps give (``dg.Failure``) as written. The whole traceback stays in the run's event log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg
    from dagster_shared.error import SerializableErrorInfo


def failure_reason(error: SerializableErrorInfo | None, description: str | None = None) -> str:
    """One line: ``description`` when the step gave one, else the innermost cause's first line."""
    if description:
        return " ".join(description.split())
    if error is None:
        return "no reason was recorded"
    if error.cls_name == "DagsterExecutionInterruptedError":
        return "cancelled (by `hawk delete`, Ctrl-C or the Dagster UI)"
    while error.cause is not None:
        error = error.cause
    lines = error.message.strip().splitlines()
    first = lines[0] if lines else error.cls_name or "an error without a message"
    head, colon, rest = first.partition(": ")
    if colon and "." in head and " " not in head:  # "package.module.ClassName: text" -> "ClassName: text"
        first = f"{head.rsplit('.', 1)[1]}: {rest}"
    return first


def step_failures(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    """``(step, reason)`` for every failed step of an in-process run."""
    failures: list[tuple[str, str]] = []
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        if data is None:
            continue
        description = data.user_failure_data.description if data.user_failure_data is not None else None
        failures.append((event.step_key or "?", failure_reason(data.error, description)))
    return failures
