"""The eval-set configs sensor: a YAML dropped into ``<root>/configs/eval-sets/`` becomes a partition and a run.

All decisions live in :mod:`hawk_dagster.config_watch`; this module only turns them into Dagster requests and logs.
The sensor targets the ``eval_logs`` asset by key, so it does not import the asset module.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.config_watch import Accepted, Rejected, WatchCursor, process_new_configs, unique
from hawk_dagster.partitions import EVAL_SETS, eval_sets_partitions
from hawk_dagster.resources.storage import StorageResource

SENSOR_NAME = "eval_set_configs"
EVAL_LOGS = dg.AssetKey("eval_logs")

TAG_CONFIG = "hawk/config"
TAG_CREATED_BY = "hawk/created_by"
TAG_SOURCE = "hawk/source"

# Tags the daemon puts on sensor runs and dedups run keys with (dagster._core.storage.tags, not public API).
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"


@dg.sensor(
    name=SENSOR_NAME,
    asset_selection=[EVAL_LOGS],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches <storage root>/configs/eval-sets/ for *.yaml/*.yml eval-set configs. A valid new or edited file "
        "adds its eval set as a partition and launches eval_logs for it; an invalid one launches nothing and gets "
        "<name>.error next to it."
    ),
)
def eval_set_config_sensor(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult | dg.SkipReason:
    """Register and launch every eval-set config that is new or changed since the cursor."""
    cursor = WatchCursor.parse(context.cursor)
    instance = instance_or_none(context)
    result = process_new_configs(
        storage.storage, cursor, run_key_used=lambda key: _run_key_used(instance, key)
    )

    for r in result.rejected:
        where = f" (details in {r.error_file})" if r.error_file else ""
        context.log.error(f"eval-set config {r.name} rejected, nothing launched{where}:\n{r.message}")
    for a in result.accepted:
        for warning in a.warnings:
            context.log.warning(f"{a.name}: {warning}")
        if not a.submitted:
            context.log.info(
                f"{a.name}: eval set {a.eval_set_id!r} already ran this exact config (run key {a.run_key}); "
                f"nothing launched. Edit the file to run it again."
            )

    to_submit = result.to_submit
    new_ids = [i for i in unique(a.eval_set_id for a in to_submit) if not _has_partition(instance, i)]
    run_requests = [
        dg.RunRequest(
            partition_key=a.eval_set_id,
            run_key=a.run_key,
            tags={TAG_CONFIG: a.name, TAG_CREATED_BY: a.submission.created_by, TAG_SOURCE: "sensor"},
        )
        for a in to_submit
    ]
    for a in to_submit:
        context.log.info(f"{a.name}: launching eval set {a.eval_set_id!r} (run key {a.run_key})")

    if not run_requests and not result.rejected and result.cursor == cursor:
        return dg.SkipReason(f"no new eval-set configs in {result.configs_dir}")
    return dg.SensorResult(
        dynamic_partitions_requests=[eval_sets_partitions.build_add_request(new_ids)] if new_ids else [],
        run_requests=run_requests,
        cursor=result.cursor.dumps(),
        skip_reason=None if run_requests else _skip_message(result.rejected, result.accepted),
    )


def _skip_message(rejected: list[Rejected], accepted: list[Accepted]) -> str:
    parts = []
    if rejected:
        parts.append(f"rejected (see their .error files): {', '.join(r.name for r in rejected)}")
    if accepted:
        parts.append(f"already ran: {', '.join(a.name for a in accepted)}")
    return "; ".join(parts) or "no changed eval-set configs"


def instance_or_none(context: dg.SensorEvaluationContext) -> dg.DagsterInstance | None:
    """The instance, or None when a test builds a context without one (then every id and run key looks new)."""
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:
        return None


def _has_partition(instance: dg.DagsterInstance | None, eval_set_id: str) -> bool:
    return instance is not None and instance.has_dynamic_partition(EVAL_SETS, eval_set_id)


def _run_key_used(instance: dg.DagsterInstance | None, run_key: str) -> bool:
    """Whether this sensor already created a run with ``run_key``: the same check the daemon dedups with."""
    if instance is None:
        return False
    runs = instance.get_run_records(
        filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: SENSOR_NAME}), limit=1
    )
    return bool(runs)
