"""The scan configs sensor: a YAML dropped into ``<root>/configs/scans/`` becomes a scan and one run per scan cell.

The watching rules are the eval-set sensor's (:mod:`hawk_dagster.config_watch` with ``SCAN_CONFIGS_KIND``): cursor,
content-hash run keys, ``<name>.error`` files, one file per scan id. Accepting a scan resolves its sources (an unknown
eval set is refused with an error file and launches nothing) and its global limit, then requests ``scan_pipeline``
for each eval set it reads.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.config_watch import SCAN_CONFIGS_KIND, WatchCursor, process_new_configs, unique
from hawk_dagster.partitions import EVAL_SETS, SCANS, eval_sets_partitions, scan_cell_key, scans_partitions
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.scan_planning import load_scan
from hawk_dagster.sensors.eval_set_configs import TAG_CONFIG, TAG_CREATED_BY, TAG_SOURCE, instance_or_none

SENSOR_NAME = "scan_configs"
TAG_SUBMISSION = "hawk/scan_submission"
"""On every run a submitted scan file started: ``<scan_id>@<sha256[:16]>`` (one file version, all its cells)."""


@dg.sensor(
    name=SENSOR_NAME,
    job_name="scan_pipeline",
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches <storage root>/configs/scans/ for *.yaml/*.yml scan configs. A valid new or edited file adds its "
        "scan as a partition and runs it on every eval set it reads; an invalid one (or one naming an unknown eval "
        "set) launches nothing and gets <name>.error next to it."
    ),
)
def scan_config_sensor(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult | dg.SkipReason:
    cursor = WatchCursor.parse(context.cursor)
    instance = instance_or_none(context)
    result = process_new_configs(
        storage.storage,
        cursor,
        run_key_used=lambda key: _submission_ran(instance, key),
        kind=SCAN_CONFIGS_KIND,
    )
    for r in result.rejected:
        where = f" (details in {r.error_file})" if r.error_file else ""
        context.log.error(f"scan config {r.name} rejected, nothing launched{where}:\n{r.message}")

    run_requests: list[dg.RunRequest] = []
    new_scans: list[str] = []
    eval_sets: list[str] = []
    for a in result.to_submit:
        scan_id = a.eval_set_id
        _, resolution = load_scan(storage.storage, scan_id)
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
                        TAG_SUBMISSION: a.run_key,
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
    scans_to_add = [s for s in unique(new_scans) if not _has(instance, SCANS, s)]
    if scans_to_add:
        requests.append(scans_partitions.build_add_request(scans_to_add))
    eval_sets_to_add = [e for e in unique(eval_sets) if not _has(instance, EVAL_SETS, e)]
    if eval_sets_to_add:
        requests.append(eval_sets_partitions.build_add_request(eval_sets_to_add))
    if not run_requests and not requests and not result.rejected and result.cursor == cursor:
        return dg.SkipReason(f"no new scan configs in {result.configs_dir}")
    return dg.SensorResult(
        dynamic_partitions_requests=requests, run_requests=run_requests, cursor=result.cursor.dumps()
    )


def _has(instance: dg.DagsterInstance | None, partitions: str, key: str) -> bool:
    return instance is not None and instance.has_dynamic_partition(partitions, key)


def _submission_ran(instance: dg.DagsterInstance | None, run_key: str) -> bool:
    if instance is None:
        return False
    return bool(instance.get_run_records(filters=dg.RunsFilter(tags={TAG_SUBMISSION: run_key}), limit=1))
