"""Composes the code location: assets, checks, sensors and the resources of the chosen deployment.

Loaded by ``dagster dev -w workspace.yaml``, ``dg check defs`` and ``hawk`` itself (``defs``). Resources come from
environment variables with embedded defaults: ``HAWK_STORAGE_ROOT`` (default ``.hawk``), ``HAWK_WAREHOUSE_URL``
(default: embedded PostgreSQL under the root).
"""

from __future__ import annotations

import warnings

import dagster as dg

from hawk_dagster.assets import ASSETS, eval_logs, eval_warehouse, scan_results, scan_warehouse
from hawk_dagster.partitions import eval_sets_partitions, scan_cells_partitions
from hawk_dagster.resources.runner import EvalRunnerResource
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.resources.warehouse import WarehouseResource
from hawk_dagster.schedules import SCHEDULES
from hawk_dagster.sensors import SENSORS
from hawk_dagster.standing_scans import standing_scan_condition
from hawk_dagster.storage import StorageRoot, default_storage_root

EVAL_SET_PIPELINE = "eval_set_pipeline"
SCAN_PIPELINE = "scan_pipeline"

# Logs then warehouse in one run: what `hawk local eval-set` executes. The sensor asks for eval_logs only and the
# automation sensor below brings eval_warehouse up to date after it.
eval_set_pipeline = dg.define_asset_job(
    EVAL_SET_PIPELINE,
    selection=dg.AssetSelection.assets(eval_logs, eval_warehouse),
    partitions_def=eval_sets_partitions,
    description="Run an eval set's grid and import its logs into the warehouse.",
)

# One scan cell (scan x eval set) per run, results then warehouse: what `hawk local scan` executes per eval set.
scan_pipeline = dg.define_asset_job(
    SCAN_PIPELINE,
    selection=dg.AssetSelection.assets(scan_results, scan_warehouse),
    partitions_def=scan_cells_partitions,
    description="Run a scan's scanners over one eval set's transcripts and import the results into the warehouse.",
)

# Dagster's default automation sensor is stopped in OSS; ours runs so eval_warehouse follows eval_logs and standing
# scans follow new eval sets by themselves. In the code server, because the standing-scan condition is our own class;
# one run per partition rather than backfills, so each cell shows as its own run.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*use_user_code_server.*")
    hawk_automation = dg.AutomationConditionSensorDefinition(
        "hawk_automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
        use_user_code_server=True,
        emit_backfills=False,
    )


def build_definitions(
    *, storage_root: str | None = None, direct: bool = False, runner_output: str | None = None
) -> dg.Definitions:
    root = storage_root or default_storage_root()
    assets = [
        asset.map_asset_specs(
            lambda spec: spec.replace_attributes(automation_condition=standing_scan_condition(root))
        )
        if asset is scan_results
        else asset
        for asset in ASSETS
    ]
    return dg.Definitions(
        assets=assets,
        jobs=[eval_set_pipeline, scan_pipeline],
        schedules=SCHEDULES,
        sensors=[*SENSORS, hawk_automation],
        resources={
            "storage": StorageResource(root=root),
            "warehouse": WarehouseResource(storage_root=root),
            "eval_runner": EvalRunnerResource(
                direct=direct,
                output_file=runner_output,
                environments_dir=str(StorageRoot(root).state_dir / "runner-envs"),
            ),
        },
    )


defs = build_definitions()
