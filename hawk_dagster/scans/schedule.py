"""The ``scheduled_scans`` schedule: Dagster wiring for scans that re-run on a cron (``schedule:`` in a scan config).

Which cells are due is :func:`hawk_dagster.scans.scheduled.due_cells`'s decision.
"""

import datetime as dt

import dagster as dg

from hawk_dagster.names import SCAN_PIPELINE, TAG_SCAN_ID, TAG_SOURCE
from hawk_dagster.partitions import scan_cell_key
from hawk_dagster.scans.scheduled import due_cells
from hawk_dagster.storage.root import StorageRoot

SCHEDULE_NAME = "scheduled_scans"


def scheduled_scans(storage_root: str) -> dg.ScheduleDefinition:
    """The minute schedule over ``storage_root``'s scans (bound here, not a resource: see
    :mod:`hawk_dagster.intake.sensor`)."""

    @dg.schedule(
        name=SCHEDULE_NAME,
        cron_schedule="* * * * *",
        job_name=SCAN_PIPELINE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        execution_timezone="UTC",
        description="Every minute: re-runs the cells of each scan whose own `schedule:` cron fired since the last "
        "tick.",
    )
    def scheduled(context: dg.ScheduleEvaluationContext) -> dg.SkipReason | list[dg.RunRequest]:
        return due_requests(context, StorageRoot(storage_root))

    return scheduled


def due_requests(
    context: dg.ScheduleEvaluationContext, storage: StorageRoot
) -> dg.SkipReason | list[dg.RunRequest]:
    until = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    due = due_cells(storage, until - dt.timedelta(minutes=1), until)
    if not due:
        return dg.SkipReason("no scan schedule fired in the last minute")
    for cell in due:
        context.log.info(
            f"scan {cell.scan_id}: re-running eval set {cell.eval_set_id} (cron fired {cell.fired_at})"
        )
    return [
        dg.RunRequest(
            partition_key=str(scan_cell_key(cell.scan_id, cell.eval_set_id)),
            run_key=cell.run_key,
            tags={TAG_SOURCE: "schedule", TAG_SCAN_ID: cell.scan_id},
        )
        for cell in due
    ]
