"""Schedules: Dagster wiring for scans that re-run on a cron (``schedule:`` in a scan config)."""

import datetime as dt

import dagster as dg

from hawk_dagster.partitions import scan_cell_key
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.scheduled_scans import due_cells

SCHEDULE_NAME = "scheduled_scans"
SCAN_PIPELINE = "scan_pipeline"


@dg.schedule(
    name=SCHEDULE_NAME,
    cron_schedule="* * * * *",
    job_name=SCAN_PIPELINE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    execution_timezone="UTC",
    description="Every minute: re-runs the cells of each scan whose own `schedule:` cron fired since the last tick.",
)
def scheduled_scans(
    context: dg.ScheduleEvaluationContext, storage: StorageResource
) -> dg.SkipReason | list[dg.RunRequest]:
    until = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    due = due_cells(storage.storage, until - dt.timedelta(minutes=1), until)
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
            tags={"hawk/source": "schedule", "hawk/scan_id": cell.scan_id},
        )
        for cell in due
    ]


SCHEDULES = [scheduled_scans]

__all__ = ["SCHEDULES", "scheduled_scans"]
