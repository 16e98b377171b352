"""``scan_results`` through Dagster: a cell whose eval set the scan never selected scans nothing.

``scan_cells`` is every scan x every eval set, so the UI invites backfills of cells that are not the scan's. Their runs
must succeed at once, saying why, without starting the runner or building an environment, and leave the cell
unmaterialised (so the fill figure still counts only what was scanned).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hawk_dagster.config.loader import load_scan_config
from hawk_dagster.definitions import build_definitions
from hawk_dagster.names import SCAN_PIPELINE, SCAN_RESULTS, SCAN_WAREHOUSE
from hawk_dagster.partitions import EVAL_SETS, SCANS, scan_cell_key
from hawk_dagster.scans.assets import NOT_SCANNED
from hawk_dagster.scans.planning import not_a_source_message
from hawk_dagster.scans.submission import load_submitted_scan, submit_scan
from hawk_dagster.storage.root import StorageRoot
from tests.grids import EXAMPLES
from tests.scans.submitted import submitted_eval_set, submitted_scan

PACKAGE_SCAN = """\
scanners:
  - package: {package}
    name: hawk_example_scanners
    items: [{{name: keyword, args: {{keyword: "+"}}}}]
transcripts:
  sources: [{{eval_set_id: chosen}}]
"""
"""A scan whose scanner package would need its own runner environment: a run that builds one leaves it on disk."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    submitted_eval_set(root, "chosen", ["nightly"])
    submitted_eval_set(root, "other", [])
    config = tmp_path / "keyword.scan.yaml"
    config.write_text(PACKAGE_SCAN.format(package=EXAMPLES / "packages" / "hawk-example-scanners"))
    submit_scan(
        StorageRoot(str(root)),
        load_scan_config(config),
        scan_id="kw",
        config_text=config.read_text(),
        base_dir=str(tmp_path),
    )
    return root


def test_a_cell_the_scan_never_selected_ends_at_once_without_scanning(
    root: Path, dagster_instance: dg.DagsterInstance
) -> None:
    storage = StorageRoot(str(root))
    job = build_definitions(storage_root=str(root)).resolve_job_def(SCAN_PIPELINE)
    instance = dagster_instance
    instance.add_dynamic_partitions(SCANS, ["kw"])
    instance.add_dynamic_partitions(EVAL_SETS, ["chosen", "other"])
    cell = str(scan_cell_key("kw", "other"))
    result = job.execute_in_process(instance=instance, partition_key=cell, raise_on_error=False)

    assert result.success
    assert result.get_asset_materialization_events() == []
    assert result.get_asset_check_evaluations() == []
    (observation,) = result.get_asset_observation_events()
    data = observation.asset_observation_data.asset_observation
    assert data.asset_key == dg.AssetKey(SCAN_RESULTS) and data.partition == cell
    message = data.metadata[NOT_SCANNED].value
    assert message == (
        "not a source of this scan: scan 'kw' reads chosen, not eval set 'other'; nothing was scanned"
    )
    messages = [r.user_message for r in instance.all_logs(result.run_id)]
    assert message in messages
    skipped = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SKIPPED}
    assert skipped == {SCAN_WAREHOUSE}
    # the cell stays missing: the fill figure counts only scanned cells
    assert instance.get_latest_materialization_event(dg.AssetKey(SCAN_RESULTS)) is None

    # no runner: no Pipes session, no runner environment, no results folder
    assert not [m for m in messages if "pipes" in m.lower()], messages
    assert not (storage.state_dir / "runner-envs").exists()
    assert not Path(storage.scan_results_dir("kw", "other")).exists()


def test_running_only_the_check_of_a_cell_fails_with_a_clear_message(
    root: Path, dagster_instance: dg.DagsterInstance
) -> None:
    """The check is reported by the scan itself; without its asset selected there is nothing to run."""
    defs = build_definitions(storage_root=str(root))
    instance = dagster_instance
    instance.add_dynamic_partitions(SCANS, ["kw"])
    instance.add_dynamic_partitions(EVAL_SETS, ["chosen", "other"])
    job = dg.define_asset_job(
        "check_only", selection=dg.AssetSelection.checks_for_assets(SCAN_RESULTS)
    ).resolve(asset_graph=defs.resolve_asset_graph())
    # Dagster runs a check alone without a partition (a checks-only selection has no partitions definition)
    result = job.execute_in_process(instance=instance, raise_on_error=False, resources=defs.resources)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_failure_data.user_failure_data is not None
    assert "materialise scan_results" in (failure.step_failure_data.user_failure_data.description or "")
    assert not (StorageRoot(str(root)).state_dir / "runner-envs").exists()


def test_sources_are_the_resolved_eval_sets_and_a_standing_scans_matches(root: Path, tmp_path: Path) -> None:
    storage = StorageRoot(str(root))
    submitted_scan(root, tmp_path, "one-off", "{eval_set_tag: nightly}")
    submitted_scan(root, tmp_path, "standing", "{eval_set_tag: nightly}", "standing: true")
    submitted_eval_set(root, "late-nightly", ["nightly"])  # landed after both were submitted

    one_off, standing = load_submitted_scan(storage, "one-off"), load_submitted_scan(storage, "standing")
    assert not_a_source_message(storage, one_off, "chosen") is None
    assert not_a_source_message(storage, standing, "chosen") is None
    assert not_a_source_message(storage, standing, "late-nightly") is None
    assert not_a_source_message(storage, one_off, "late-nightly") == (
        "not a source of this scan: scan 'one-off' reads chosen, not eval set 'late-nightly'; nothing was scanned"
    )
    assert not_a_source_message(storage, standing, "other") == (
        "not a source of this scan: scan 'standing' reads chosen, late-nightly, not eval set 'other'; "
        "nothing was scanned"
    )
