"""The eval set's assets: ``eval_logs`` (its grid run by Inspect into ``<root>/evals/<eval_set_id>/``) and
``eval_warehouse`` (those logs imported into PostgreSQL). Thin: planning, running and importing live in plain modules.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from hawk_dagster.evals.planning import load_submitted_eval_set, plan_for_eval_set
from hawk_dagster.evals.warehouse_import import import_eval_set_logs
from hawk_dagster.execution.runner import EvalRunnerResource
from hawk_dagster.partitions import eval_sets_partitions
from hawk_dagster.storage.resource import StorageResource
from hawk_dagster.warehouse.resource import WarehouseResource

ALL_CELLS_SUCCEEDED = "all_cells_succeeded"
MATCHES_LOGS = "warehouse_matches_logs"


@dg.asset(
    partitions_def=eval_sets_partitions,
    group_name="evals",
    kinds={"inspect"},
    check_specs=[
        dg.AssetCheckSpec(
            ALL_CELLS_SUCCEEDED,
            asset="eval_logs",
            description="Every task x model cell of the grid ended with status success.",
        )
    ],
    description="Runs the eval set's task x solver/agent x model grid with inspect_ai.eval_set (resuming what a "
    "previous attempt left) and keeps the .eval logs under evals/<eval_set_id>/ in the storage root.",
)
def eval_logs(
    context: dg.AssetExecutionContext, storage: StorageResource, eval_runner: EvalRunnerResource
) -> Iterator[Any]:
    submitted = load_submitted_eval_set(storage.storage, context.partition_key)
    plan = plan_for_eval_set(storage.storage, submitted)
    context.log.info(
        f"eval set {plan.eval_set_id}: {len(plan.cells)} cell(s) from {submitted.submission.source}, "
        f"logs in {plan.log_dir}"
    )
    yield from eval_runner.run(context, plan)


@dg.asset(
    partitions_def=eval_sets_partitions,
    deps=[eval_logs],
    group_name="warehouse",
    kinds={"postgres"},
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            MATCHES_LOGS,
            asset="eval_warehouse",
            blocking=True,
            description="Per task, the warehouse holds exactly as many samples as the newest log.",
        )
    ],
    description="Imports the eval set's newest log per task into the PostgreSQL warehouse: one transaction per "
    "log, samples upserted on uuid, unchanged files skipped.",
)
def eval_warehouse(
    context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    # Imported here: the count reader pulls in Inspect's log reader, which loading the code location (every run
    # worker) should not pay for.
    from hawk_dagster.warehouse.read.counts import compare_counts

    eval_set_id = context.partition_key
    engine = warehouse.engine()
    report = import_eval_set_logs(engine, storage.storage, eval_set_id)
    for failure in report.failed:
        context.log.error(f"import of {failure.file} failed: {failure.error}")
    yield dg.MaterializeResult(
        metadata={
            "logs_imported": report.imported_count,
            "logs_skipped_unchanged": report.skipped_count,
            "logs_failed": len(report.failed),
            "samples_written": report.samples,
            "scores_written": report.scores,
            "warehouse": dg.MetadataValue.text(report.warehouse_description),
        }
    )
    counts = compare_counts(engine, eval_set_id, storage.storage.eval_log_dir(eval_set_id))
    yield dg.AssetCheckResult(
        check_name=MATCHES_LOGS,
        passed=counts.matches and not report.failed,
        metadata={
            "samples_in_logs": counts.samples_in_logs,
            "samples_in_warehouse": counts.samples_in_warehouse,
            "mismatched_tasks": dg.MetadataValue.json(counts.mismatched),
        },
    )
