"""The ``scheduled_scans`` sensor: Dagster wiring for scans that re-run on a cron (``schedule:`` in a scan config).

Which cells are due is :func:`hawk_dagster.scans.scheduled.due_cells`'s decision. A sensor ticking every minute, not
a Dagster schedule: a schedule's tick builds a ``DagsterInstance`` in the code server even when nothing is due (70 ms
of CPU every minute on the local instance), and a sensor's cursor lets it catch up crons that fired while the daemon
was down (each cell once) instead of skipping them. The storage root is bound here, not a resource (see
:mod:`hawk_dagster.intake.sensor`).
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg

from hawk_dagster.names import SCAN_PIPELINE, TAG_SCAN_ID, TAG_SOURCE
from hawk_dagster.partitions import scan_cell_key
from hawk_dagster.scans.scheduled import TICK, due_cells, window_start
from hawk_dagster.storage.root import StorageRoot

SENSOR_NAME = "scheduled_scans"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def scheduled_scans(storage_root: str, clock: Callable[[], dt.datetime] = _now) -> dg.SensorDefinition:
    """The minute sensor over ``storage_root``'s scans; ``clock`` is the current UTC time (tests pass their own)."""

    @dg.sensor(
        name=SENSOR_NAME,
        job_name=SCAN_PIPELINE,
        minimum_interval_seconds=int(TICK.total_seconds()),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every minute: re-runs the cells of each scan whose own `schedule:` cron fired since the last "
        "tick.",
    )
    def scheduled(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return due_requests(context, StorageRoot(storage_root), clock())

    return scheduled


def due_requests(
    context: dg.SensorEvaluationContext, storage: StorageRoot, now: dt.datetime
) -> dg.SensorResult:
    due = due_cells(storage, window_start(context.cursor, now), now)
    for cell in due:
        context.log.info(
            f"scan {cell.scan_id}: re-running eval set {cell.eval_set_id} (cron fired {cell.fired_at})"
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=str(scan_cell_key(cell.scan_id, cell.eval_set_id)),
                run_key=cell.run_key,
                tags={TAG_SOURCE: "schedule", TAG_SCAN_ID: cell.scan_id},
            )
            for cell in due
        ],
        cursor=now.isoformat(),
        skip_reason=None if due else "no scan schedule fired since the last tick",
    )
