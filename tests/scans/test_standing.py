"""Standing scans: when a new eval set lands, Dagster's automation requests exactly the matching standing scans' cells.

Evaluated through Dagster (``evaluate_automation_conditions`` over the real definitions, ticks with a cursor), with
scans submitted to a real storage root; eval-set materialisations are reported to the instance as the eval_logs
asset would record them.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hawk_dagster.definitions import build_definitions
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key
from hawk_dagster.scans.standing import standing_cells
from hawk_dagster.storage.root import StorageRoot
from tests.scans.submitted import submitted_eval_set, submitted_scan

SCAN_RESULTS = dg.AssetKey("scan_results")


def _logs_landed(instance: dg.DagsterInstance, *eval_set_ids: str) -> None:
    for eval_set_id in eval_set_ids:
        instance.report_runless_asset_event(dg.AssetMaterialization("eval_logs", partition=eval_set_id))


def _cells(*pairs: tuple[str, str]) -> set[str]:
    return {str(scan_cell_key(scan_id, eval_set_id)) for scan_id, eval_set_id in pairs}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    submitted_eval_set(root, "nightly-1", ["nightly"])
    return root


def test_a_new_matching_eval_set_gets_its_standing_cells_run(root: Path, tmp_path: Path) -> None:
    submitted_scan(root, tmp_path, "standing-tag", "{eval_set_tag: nightly}", "standing: true")
    submitted_scan(root, tmp_path, "standing-glob", "{eval_set_id_pattern: 'nightly-*'}", "standing: true")
    submitted_scan(root, tmp_path, "one-off", "{eval_set_tag: nightly}", "standing: false")
    defs = build_definitions(storage_root=str(root))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SCANS, ["standing-tag", "standing-glob", "one-off"])
    instance.add_dynamic_partitions(EVAL_SETS, ["nightly-1"])
    _logs_landed(instance, "nightly-1")
    for scan_id in ("standing-tag", "standing-glob", "one-off"):  # scanned when they were submitted
        instance.report_runless_asset_event(
            dg.AssetMaterialization("scan_results", partition=str(scan_cell_key(scan_id, "nightly-1")))
        )
    selection = dg.AssetSelection.assets(SCAN_RESULTS)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)
    assert first.get_requested_partitions(SCAN_RESULTS) == set()

    # two eval sets land: one tagged nightly (and matching the glob), one not
    submitted_eval_set(root, "nightly-2", ["nightly"])
    submitted_eval_set(root, "adhoc-1", ["adhoc"])
    instance.add_dynamic_partitions(EVAL_SETS, ["nightly-2", "adhoc-1"])
    waiting = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=first.cursor
    )
    assert waiting.get_requested_partitions(SCAN_RESULTS) == set()  # their logs are not there yet

    _logs_landed(instance, "nightly-2", "adhoc-1")
    landed = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=waiting.cursor
    )
    assert landed.get_requested_partitions(SCAN_RESULTS) == _cells(
        ("standing-tag", "nightly-2"), ("standing-glob", "nightly-2")
    )

    # requested once: the next tick (nothing new) asks for nothing
    quiet = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=landed.cursor
    )
    assert quiet.get_requested_partitions(SCAN_RESULTS) == set()


def test_standing_cells_reads_the_scans_in_the_root(root: Path, tmp_path: Path) -> None:
    submitted_scan(root, tmp_path, "standing-tag", "{eval_set_tag: nightly}", "standing: true")
    submitted_eval_set(root, "other", [])
    storage = StorageRoot(str(root))
    assert standing_cells(
        storage, [("standing-tag", "nightly-1"), ("standing-tag", "other"), ("gone", "other")]
    ) == {("standing-tag", "nightly-1")}
