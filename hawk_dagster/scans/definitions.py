"""The scan domain's Dagster definitions: its two assets (standing scans run by automation), the job that runs one
scan cell, the configs sensor and the sensor of cron re-runs."""

import dagster as dg

from hawk_dagster.names import SCAN_PIPELINE
from hawk_dagster.partitions import scan_cells_partitions
from hawk_dagster.scans.assets import scan_results, scan_warehouse
from hawk_dagster.scans.automation import standing_scan_condition
from hawk_dagster.scans.schedule_sensor import scheduled_scans
from hawk_dagster.scans.sensor import scan_config_sensor

# One scan cell (scan x eval set) per run, results then warehouse: what `hawk local scan` executes per eval set.
scan_pipeline = dg.define_asset_job(
    SCAN_PIPELINE,
    selection=dg.AssetSelection.assets(scan_results, scan_warehouse),
    partitions_def=scan_cells_partitions,
    description="Run a scan's scanners over one eval set's transcripts and import the results into the warehouse.",
)


def scans_definitions(storage_root: str) -> dg.Definitions:
    """``storage_root``: whose scans the standing-scan condition and the two sensors read."""
    results = scan_results.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=standing_scan_condition(storage_root))
    )
    return dg.Definitions(
        assets=[results, scan_warehouse],
        jobs=[scan_pipeline],
        sensors=[scan_config_sensor(storage_root), scheduled_scans(storage_root)],
    )
