"""The eval-set configs sensor: a YAML dropped into ``<root>/configs/eval-sets/`` becomes a partition and a run.

All decisions live in :mod:`hawk_dagster.intake.watch` (with :data:`~hawk_dagster.evals.intake.EVAL_SET_CONFIGS_KIND`);
this module only turns them into Dagster requests and logs. It targets the ``eval_logs`` asset by key, so it does not
import the asset module. The storage root is bound when the definitions are built, not injected as a resource:
see :mod:`hawk_dagster.intake.sensor` for why.
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
from hawk_dagster.intake.sensor import (
    instance_or_none,
    log_rejected,
    missing_partitions,
    run_with_tags_exists,
)
from hawk_dagster.intake.watch import Accepted, Rejected, WatchCursor, process_new_configs
from hawk_dagster.names import EVAL_LOGS, RUN_KEY_TAG, SENSOR_NAME_TAG, TAG_CONFIG, TAG_CREATED_BY, TAG_SOURCE
from hawk_dagster.partitions import EVAL_SETS, eval_sets_partitions
from hawk_dagster.storage.root import StorageRoot

SENSOR_NAME = "eval_set_configs"


def eval_set_config_sensor(storage_root: str) -> dg.SensorDefinition:
    """The sensor watching ``storage_root``'s eval-set configs folder."""

    @dg.sensor(
        name=SENSOR_NAME,
        asset_selection=[dg.AssetKey(EVAL_LOGS)],
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches <storage root>/configs/eval-sets/ for *.yaml/*.yml eval-set configs. A valid new or edited file "
            "adds its eval set as a partition and launches eval_logs for it; an invalid one launches nothing and "
            "gets <name>.error next to it."
        ),
    )
    def eval_set_configs(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        return configs_tick(context, StorageRoot(storage_root))

    return eval_set_configs


def configs_tick(
    context: dg.SensorEvaluationContext, storage: StorageRoot
) -> dg.SensorResult | dg.SkipReason:
    """Register and launch every eval-set config that is new or changed since the cursor."""
    cursor = WatchCursor.parse(context.cursor, root=storage.uri)
    result = process_new_configs(
        storage,
        cursor,
        EVAL_SET_CONFIGS_KIND,
        # The same check the daemon dedups run keys with.
        run_key_used=lambda key: run_with_tags_exists(
            instance_or_none(context), {RUN_KEY_TAG: key, SENSOR_NAME_TAG: SENSOR_NAME}
        ),
    )

    log_rejected(context, "eval-set", result.rejected)
    for a in result.accepted:
        for warning in a.warnings:
            context.log.warning(f"{a.name}: {warning}")
        if not a.submitted:
            context.log.info(
                f"{a.name}: eval set {a.eval_set_id!r} already ran this exact config (run key {a.run_key}); "
                f"nothing launched. Edit the file to run it again."
            )

    to_submit = result.to_submit
    new_ids = missing_partitions(context, EVAL_SETS, [a.eval_set_id for a in to_submit])
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


def _skip_message(rejected: list[Rejected], accepted: list[Accepted[None]]) -> str:
    parts = []
    if rejected:
        parts.append(f"rejected (see their .error files): {', '.join(r.name for r in rejected)}")
    if accepted:
        parts.append(f"already ran: {', '.join(a.name for a in accepted)}")
    return "; ".join(parts) or "no changed eval-set configs"
