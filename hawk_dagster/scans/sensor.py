"""The scan configs sensor: a YAML dropped into ``<root>/configs/scans/`` becomes a scan and one run per scan cell.

The watching rules are the eval-set sensor's (:mod:`hawk_dagster.intake.watch` with
:data:`~hawk_dagster.scans.intake.SCAN_CONFIGS_KIND`): cursor, content-hash run keys, ``<name>.error`` files, one
file per scan id. Accepting a scan resolves its sources (an unknown eval set is refused with an error file and
launches nothing) and its global limit; the sensor requests ``scan_pipeline`` for each eval set that resolution names.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.intake.sensor import (
    instance_or_none,
    log_rejected,
    missing_partitions,
    run_with_tags_exists,
)
from hawk_dagster.intake.watch import WatchCursor, process_new_configs
from hawk_dagster.names import SCAN_PIPELINE, TAG_CONFIG, TAG_CREATED_BY, TAG_SCAN_SUBMISSION, TAG_SOURCE
from hawk_dagster.partitions import EVAL_SETS, SCANS, eval_sets_partitions, scan_cell_key, scans_partitions
from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND
from hawk_dagster.storage.root import StorageRoot

SENSOR_NAME = "scan_configs"


def scan_config_sensor(storage_root: str) -> dg.SensorDefinition:
    """The sensor watching ``storage_root``'s scan configs folder (bound here, not a resource: see
    :mod:`hawk_dagster.intake.sensor`)."""

    @dg.sensor(
        name=SENSOR_NAME,
        job_name=SCAN_PIPELINE,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches <storage root>/configs/scans/ for *.yaml/*.yml scan configs. A valid new or edited file adds "
            "its scan as a partition and runs it on every eval set it reads; an invalid one (or one naming an "
            "unknown eval set) launches nothing and gets <name>.error next to it."
        ),
    )
    def scan_configs(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        return configs_tick(context, StorageRoot(storage_root))

    return scan_configs


def configs_tick(
    context: dg.SensorEvaluationContext, storage: StorageRoot
) -> dg.SensorResult | dg.SkipReason:
    """Register every scan config new or changed since the cursor and launch its cells."""
    cursor = WatchCursor.parse(context.cursor, root=storage.uri)
    result = process_new_configs(
        storage,
        cursor,
        SCAN_CONFIGS_KIND,
        run_key_used=lambda key: run_with_tags_exists(instance_or_none(context), {TAG_SCAN_SUBMISSION: key}),
    )
    log_rejected(context, "scan", result.rejected)

    run_requests: list[dg.RunRequest] = []
    new_scans: list[str] = []
    eval_sets: list[str] = []
    for a in result.to_submit:
        scan_id, resolution = a.eval_set_id, a.outcome
        assert resolution is not None  # a submitted scan always has its resolution
        new_scans.append(scan_id)
        eval_sets.extend(resolution.eval_set_ids)
        for eval_set_id in resolution.eval_set_ids:
            run_requests.append(
                dg.RunRequest(
                    partition_key=str(scan_cell_key(scan_id, eval_set_id)),
                    run_key=f"{a.run_key}|{eval_set_id}",
                    tags={
                        TAG_CONFIG: a.name,
                        TAG_CREATED_BY: a.submission.created_by,
                        TAG_SOURCE: "sensor",
                        TAG_SCAN_SUBMISSION: a.run_key,
                    },
                )
            )
        context.log.info(f"{a.name}: scan {scan_id!r} on {len(resolution.eval_set_ids)} eval set(s)")
    for a in result.accepted:
        if not a.submitted:
            context.log.info(
                f"{a.name}: scan {a.eval_set_id!r} already ran this exact config; nothing launched"
            )

    requests = []
    scans_to_add = missing_partitions(context, SCANS, new_scans)
    if scans_to_add:
        requests.append(scans_partitions.build_add_request(scans_to_add))
    eval_sets_to_add = missing_partitions(context, EVAL_SETS, eval_sets)
    if eval_sets_to_add:
        requests.append(eval_sets_partitions.build_add_request(eval_sets_to_add))
    if not run_requests and not requests and not result.rejected and result.cursor == cursor:
        return dg.SkipReason(f"no new scan configs in {result.configs_dir}")
    return dg.SensorResult(
        dynamic_partitions_requests=requests, run_requests=run_requests, cursor=result.cursor.dumps()
    )
