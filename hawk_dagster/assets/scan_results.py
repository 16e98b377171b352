"""``scan_results``: one scan's scanners over one eval set's transcripts, by Inspect Scout, into the storage root.

Partitioned by scan cell (scan x eval set). Its dependency on ``eval_logs`` maps each cell to the eval-set partition
it reads (``MultiToSingleDimensionPartitionMapping``), which is what the Dagster UI shows as lineage and what makes a
cell stale when its eval set's logs change.
"""

import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg
from hawk_runner.run import missing_secrets, secrets_error_message

from hawk_dagster.partitions import EVAL_SET_DIMENSION, scan_cells_partitions, split_scan_cell
from hawk_dagster.resources.runner import EvalRunnerResource
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.scan_planning import plan_for_scan_cell

SCAN_COMPLETE = "scan_complete"

# The mapping is what DESIGN.md asks for (scan cell -> the eval-set partition it reads); Dagster marks it beta.
warnings.filterwarnings(
    "ignore", message=".*MultiToSingleDimensionPartitionMapping.*", category=dg.BetaWarning
)


@dg.asset(
    partitions_def=scan_cells_partitions,
    group_name="scans",
    kinds={"scout"},
    deps=[
        dg.AssetDep(
            "eval_logs",
            partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                partition_dimension_name=EVAL_SET_DIMENSION
            ),
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            SCAN_COMPLETE,
            asset="scan_results",
            description="Every scanner ran on every transcript of the cell without error (else: `hawk scan resume`).",
        )
    ],
    description="Runs a scan's Inspect Scout scanners over one eval set's transcripts (resuming an incomplete scan) "
    "and keeps Scout's results under scans/<scan_id>/<eval_set_id>/ in the storage root.",
)
def scan_results(
    context: dg.AssetExecutionContext, storage: StorageResource, eval_runner: EvalRunnerResource
) -> Iterator[Any]:
    scan_id, eval_set_id = split_scan_cell(context.partition_key)
    plan = plan_for_scan_cell(storage.storage, scan_id, eval_set_id)
    missing = missing_secrets(plan)
    if missing:
        raise dg.Failure(description=secrets_error_message(missing))
    context.log.info(
        f"scan {scan_id} over eval set {eval_set_id}: scanners {', '.join(s.key for s in plan.scanners)}, "
        f"results in {plan.results_dir}"
    )
    yield from eval_runner.run_scan(context, plan)
