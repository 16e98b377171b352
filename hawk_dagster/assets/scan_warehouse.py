"""``scan_warehouse``: one scan cell's Scout results imported into PostgreSQL (scan, scan_source, scanner_result)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import yaml

from hawk_dagster.assets.scan_results import scan_results
from hawk_dagster.partitions import scan_cells_partitions, split_scan_cell
from hawk_dagster.resources.storage import StorageResource
from hawk_dagster.resources.warehouse import WarehouseResource
from hawk_dagster.scan_planning import load_scan
from hawk_dagster.storage import SCANS
from hawk_dagster.submission import read_submission


@dg.asset(
    partitions_def=scan_cells_partitions,
    deps=[scan_results],
    group_name="warehouse",
    kinds={"postgres"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Imports a scan cell's scanner results into the warehouse, joined to the scanned samples, and "
    "records which eval-set logs the cell read (scan_source).",
)
def scan_warehouse(
    context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    from hawk_dagster.warehouse.scan_import import ScanRecord, import_scan_cell

    scan_id, eval_set_id = split_scan_cell(context.partition_key)
    root = storage.storage
    loaded, _ = load_scan(root, scan_id)
    submission = read_submission(root, scan_id, kind=SCANS)
    config = loaded.config
    record = ScanRecord(
        scan_id=scan_id,
        name=config.name,
        config=yaml.safe_load(submission.config_text),
        created_by=submission.created_by,
        tags=list(config.tags),
        metadata=dict(config.metadata),
        standing=config.standing,
        schedule=config.schedule,
    )
    run_id, data_version = _eval_logs_read(context.instance, eval_set_id)
    report = import_scan_cell(
        warehouse.engine(),
        record,
        eval_set_id=eval_set_id,
        results_dir=root.scan_results_dir(scan_id, eval_set_id),
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
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("eval_logs"), asset_partitions=[eval_set_id]), limit=1
    ).records
    if not records:
        return None, None
    record = records[0]
    materialization = record.asset_materialization
    tags = (materialization.tags or {}) if materialization else {}
    return record.run_id, tags.get("dagster/data_version")
