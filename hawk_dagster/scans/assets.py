"""The scan's assets: ``scan_results`` (a scan's scanners over one eval set's transcripts, by Inspect Scout, into the
storage root) and ``scan_warehouse`` (those results imported into PostgreSQL).

Partitioned by scan cell (scan x eval set). The dependency of ``scan_results`` on ``eval_logs`` maps each cell to the
eval-set partition it reads (``MultiToSingleDimensionPartitionMapping``), which is what the Dagster UI shows as
lineage and what makes a cell stale when its eval set's logs change.

``scan_cells`` holds every scan x every eval set, so most cells are eval sets a scan never selected, and the UI counts
them as missing. A run of such a cell (a backfill of "missing" cells, a manual launch) scans nothing: the step
succeeds at once with an observation saying "not a source of this scan" and no materialisation, so the cell stays
missing (nothing was scanned), ``scan_warehouse`` is skipped, and nothing marks it as a failure to retry. That is why
``scan_results`` is a ``multi_asset`` with a skippable spec: a plain ``@asset`` must materialise and report its check.
"""

import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg

from hawk_dagster.execution.runner import EvalRunnerResource
from hawk_dagster.names import DATA_VERSION_TAG, EVAL_LOGS, SCAN_RESULTS
from hawk_dagster.partitions import EVAL_SET_DIMENSION, scan_cells_partitions, split_scan_cell
from hawk_dagster.scans.planning import not_a_source_message, plan_for_scan_cell
from hawk_dagster.scans.submission import load_submitted_scan
from hawk_dagster.scans.warehouse_import import import_scan_cell_results
from hawk_dagster.storage.resource import StorageResource
from hawk_dagster.warehouse.resource import WarehouseResource

SCAN_COMPLETE = "scan_complete"
NOT_SCANNED = "not_scanned"
"""Metadata key of the observation a non-source cell's run leaves instead of a materialisation."""

# The mapping is what DESIGN.md asks for (scan cell -> the eval-set partition it reads); Dagster marks it beta.
warnings.filterwarnings(
    "ignore", message=".*MultiToSingleDimensionPartitionMapping.*", category=dg.BetaWarning
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SCAN_RESULTS,
            partitions_def=scan_cells_partitions,
            group_name="scans",
            kinds={"scout"},
            skippable=True,
            deps=[
                dg.AssetDep(
                    EVAL_LOGS,
                    partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                        partition_dimension_name=EVAL_SET_DIMENSION
                    ),
                )
            ],
            description="Runs a scan's Inspect Scout scanners over one eval set's transcripts (resuming an "
            "incomplete scan) and keeps Scout's results under scans/<scan_id>/<eval_set_id>/ in the storage root. "
            "Only the cells of the scan's sources are filled; any other cell's run scans nothing and ends with "
            "'not a source of this scan'.",
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            SCAN_COMPLETE,
            asset=SCAN_RESULTS,
            description="Every scanner ran on every transcript of the cell without error (else: `hawk scan resume`).",
        )
    ],
    can_subset=True,  # makes the check's output optional too, so a non-source cell can end without either
    name=SCAN_RESULTS,
)
def scan_results(
    context: dg.AssetExecutionContext, storage: StorageResource, eval_runner: EvalRunnerResource
) -> Iterator[Any]:
    if dg.AssetKey(SCAN_RESULTS) not in context.selected_asset_keys:
        raise dg.Failure(
            description=f"{SCAN_COMPLETE} is reported by the scan itself: materialise scan_results (its check "
            "comes with it)"
        )
    scan_id, eval_set_id = split_scan_cell(context.partition_key)
    scan = load_submitted_scan(storage.storage, scan_id)
    not_a_source = not_a_source_message(storage.storage, scan, eval_set_id)
    if not_a_source is not None:
        context.log.info(not_a_source)
        yield dg.AssetObservation(
            asset_key=SCAN_RESULTS,
            partition=context.partition_key,
            metadata={NOT_SCANNED: not_a_source},
        )
        return
    plan = plan_for_scan_cell(storage.storage, scan, eval_set_id)
    context.log.info(
        f"scan {scan_id} over eval set {eval_set_id}: scanners {', '.join(s.key for s in plan.scanners)}, "
        f"results in {plan.results_dir}"
    )
    yield from eval_runner.run_scan(context, plan)


@dg.asset(
    partitions_def=scan_cells_partitions,
    deps=[SCAN_RESULTS],
    group_name="warehouse",
    kinds={"postgres"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Imports a scan cell's scanner results into the warehouse, joined to the scanned samples, and "
    "records which eval-set logs the cell read (scan_source).",
)
def scan_warehouse(
    context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    scan_id, eval_set_id = split_scan_cell(context.partition_key)
    run_id, data_version = _eval_logs_read(context.instance, eval_set_id)
    report = import_scan_cell_results(
        warehouse.engine(),
        storage.storage,
        scan_id,
        eval_set_id,
        eval_logs_run_id=run_id,
        eval_logs_data_version=data_version,
    )
    yield dg.MaterializeResult(
        metadata={
            "results_written": report.results,
            "results_linked_to_samples": report.linked,
            "sources": dg.MetadataValue.json(report.sources),
            "eval_logs_run_id": run_id,
        }
    )


def _eval_logs_read(instance: dg.DagsterInstance, eval_set_id: str) -> tuple[str | None, str | None]:
    """Run id and data version of the latest ``eval_logs`` materialisation of the eval set the cell read."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(EVAL_LOGS), asset_partitions=[eval_set_id]), limit=1
    ).records
    if not records:
        return None, None
    record = records[0]
    materialization = record.asset_materialization
    tags = (materialization.tags or {}) if materialization else {}
    return record.run_id, tags.get(DATA_VERSION_TAG)
