"""``eval_warehouse``: the eval set's logs imported into PostgreSQL (eval_set, eval, sample, score rows)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import yaml

from hawk_dagster.assets.eval_logs import eval_logs
from hawk_dagster.partitions import eval_sets_partitions
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.resources.warehouse import WarehouseResource
from hawk_dagster.submission import SubmissionNotFoundError, read_submission

MATCHES_LOGS = "warehouse_matches_logs"


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
    # Imported here, not at module level: the importer pulls in Inspect's log reader, SQLAlchemy and psycopg, which
    # loading the code location (every CLI start, every run worker) should not pay for.
    from hawk_dagster.warehouse.counts import compare_counts
    from hawk_dagster.warehouse.importer import import_eval_set

    eval_set_id = context.partition_key
    root = storage.storage
    log_dir = root.eval_log_dir(eval_set_id)
    try:
        submission = read_submission(root, eval_set_id)
        snapshot = yaml.safe_load(submission.config_text)
        name, created_by = (snapshot or {}).get("name"), submission.created_by
    except SubmissionNotFoundError:
        snapshot, name, created_by = None, None, None
    engine = warehouse.engine()
    report = import_eval_set(
        engine, log_dir, eval_set_id, eval_set_name=name, config_snapshot=snapshot, created_by=created_by
    )
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
    counts = compare_counts(engine, eval_set_id, log_dir)
    yield dg.AssetCheckResult(
        check_name=MATCHES_LOGS,
        passed=counts.matches and not report.failed,
        metadata={
            "samples_in_logs": counts.samples_in_logs,
            "samples_in_warehouse": counts.samples_in_warehouse,
            "mismatched_tasks": dg.MetadataValue.json(counts.mismatched),
        },
    )
