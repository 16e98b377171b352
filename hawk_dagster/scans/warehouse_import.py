"""A scan cell's results into the warehouse, with what the scan's submission says about it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hawk_dagster.scans.submission import SubmittedScan, load_submitted_scan
from hawk_dagster.storage.root import SCANS, StorageRoot

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.warehouse.ingest.scan_import import ScanImportReport, ScanRecord


logger = logging.getLogger(__name__)


def scan_record(scan: SubmittedScan) -> ScanRecord:
    """The scan-level facts the warehouse keeps (``scan`` row), from the submission and its validated config."""
    from hawk_dagster.warehouse.ingest.scan_import import ScanRecord

    config = scan.loaded.config
    return ScanRecord(
        scan_id=scan.scan_id,
        name=config.name,
        config=scan.loaded.data,
        created_by=scan.submission.created_by,
        tags=list(config.tags),
        metadata=dict(config.metadata),
        standing=config.standing,
        schedule=config.schedule,
    )


def import_scan_cell_results(
    engine: Engine,
    storage: StorageRoot,
    scan_id: str,
    eval_set_id: str,
    *,
    eval_logs_run_id: str | None,
    eval_logs_data_version: str | None,
) -> ScanImportReport:
    """Import one cell's Scout results, recording which ``eval_logs`` materialisation the cell read."""
    import dataclasses

    from hawk_dagster.access.stored_groups import read_stored_groups, record_scan_groups
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.warehouse.ingest.scan_import import import_scan_cell

    scan = load_submitted_scan(storage, scan_id)
    # the scan's groups with this cell's eval set among its sources (a standing scan gains sources as they land)
    try:
        groups = record_scan_groups(
            storage, scan_id, scan.loaded.config, [*scan.resolution.eval_set_ids, eval_set_id]
        ).groups
    except (
        ConfigError
    ) as exc:  # an unusable model-groups file: keep the stored groups (else the default: closed)
        logger.error(
            "scan %s: access groups not updated, the model-groups file cannot be used: %s", scan_id, exc
        )
        stored = read_stored_groups(storage, SCANS, scan_id)
        groups = stored.groups if stored is not None else ()
    return import_scan_cell(
        engine,
        dataclasses.replace(scan_record(scan), model_groups=groups),
        eval_set_id=eval_set_id,
        results_dir=storage.scan_results_dir(scan_id, eval_set_id),
        eval_logs_run_id=eval_logs_run_id,
        eval_logs_data_version=eval_logs_data_version,
    )
