"""An eval set's Dagster runs, read from the instance: what ran, how it ended, and the runner's latest progress.

Runs are found by their partition tag, so every way of starting one counts (``hawk local``, a sensor, a re-execution
or backfill from the UI, the warehouse import's automation); scan cells have two-part partition keys and never match.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hawk_runner.reporting import CellProgress

from hawk_dagster.monitoring.report import RunInfo, RunState
from hawk_dagster.monitoring.run_failures import failure_reason
from hawk_dagster.names import EVAL_LOGS, PARTITION_TAG, TAG_SOURCE

if TYPE_CHECKING:
    import dagster as dg
    from dagster._core.event_api import EventLogRecord
    from dagster._core.storage.dagster_run import DagsterRun

DAGSTER_URL_ENV = "HAWK_DAGSTER_URL"
"""Where the Dagster UI is, for run links (default: ``hawk dev``'s address)."""
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
RECORD_PAGE = 1000


def eval_set_runs(instance: dg.DagsterInstance, eval_set_id: str) -> list[DagsterRun]:
    """Every run of the eval set's partition, newest first."""
    from dagster import RunsFilter

    return list(instance.get_runs(RunsFilter(tags={PARTITION_TAG: eval_set_id})))


def runs_eval_logs(run: DagsterRun) -> bool:
    """Whether the run evaluates (rather than only importing): its selection includes ``eval_logs``."""
    if not run.asset_selection:
        return True  # a whole-job run (eval_set_pipeline) materialises both assets
    return any(key.path[-1] == EVAL_LOGS for key in run.asset_selection)


def run_state(run: DagsterRun | None) -> RunState:
    from dagster import DagsterRunStatus as S

    if run is None:
        return "not_started"
    if run.status in (S.QUEUED, S.NOT_STARTED, S.MANAGED):
        return "queued"
    if run.status in (S.STARTING, S.STARTED, S.CANCELING):
        return "running"
    if run.status == S.SUCCESS:
        return "succeeded"
    if run.status == S.CANCELED:
        return "canceled"
    return "failed"


def run_url(run_id: str) -> str:
    base = os.environ.get(DAGSTER_URL_ENV, "").strip() or DEFAULT_DAGSTER_URL
    return f"{base.rstrip('/')}/runs/{run_id}"


def _time(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def run_info(instance: dg.DagsterInstance, run: DagsterRun) -> RunInfo:
    record = instance.get_run_record_by_id(run.run_id)
    created = record.create_timestamp if record is not None else None
    return RunInfo(
        run_id=run.run_id,
        status=run.status.value,
        job=run.job_name,
        source=run.tags.get(TAG_SOURCE) or run.tags.get("dagster/sensor_name") or _reexecution(run),
        created_at=created.astimezone(UTC) if created is not None else None,
        started_at=_time(record.start_time if record is not None else None),
        ended_at=_time(record.end_time if record is not None else None),
        url=run_url(run.run_id),
        failures=run_failures(instance, run.run_id),
    )


def _reexecution(run: DagsterRun) -> str | None:
    if run.parent_run_id:
        return f"re-execution of {run.parent_run_id}"
    if run.tags.get("dagster/backfill"):
        return f"backfill {run.tags['dagster/backfill']}"
    return None


def run_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """``step: reason`` for each failed step; the run's own failure when no step failed (e.g. its process died)."""
    from dagster import DagsterEventType

    failures: list[str] = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data if event is not None else None
        if data is None:
            continue
        description = data.user_failure_data.description if data.user_failure_data is not None else None
        failures.append(f"{event.step_key if event else '?'}: {failure_reason(data.error, description)}")
    if failures:
        return failures
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        message = event.message if event is not None and event.message else entry.user_message
        failures.append(f"run: {failure_reason(error, None if error is not None else message)}")
    return failures


def iter_run_records(
    instance: dg.DagsterInstance, run_id: str, cursor: str | None = None
) -> Iterator[EventLogRecord]:
    """Every event-log record of a run after ``cursor``, in order, a page at a time."""
    while True:
        connection = instance.get_records_for_run(run_id, cursor=cursor, limit=RECORD_PAGE)
        yield from connection.records
        cursor = connection.cursor
        if not connection.has_more:
            return


def latest_progress(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], CellProgress]:
    """The runner's last progress line per (task, model) in the run's event log."""
    cells: dict[tuple[str, str], CellProgress] = {}
    for record in iter_run_records(instance, run_id):
        progress = CellProgress.from_message(record.event_log_entry.user_message or "")
        if progress is not None:
            cells[(progress.task, progress.model)] = progress
    return cells
