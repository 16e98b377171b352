"""The eval_logs -> eval_warehouse pipeline materialised through Dagster on a real grid and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from hawk_runner.secrets import MissingSecretsError
from sqlalchemy import text

from hawk_dagster.definitions import build_definitions
from hawk_dagster.names import EVAL_SET_PIPELINE
from hawk_dagster.partitions import EVAL_SETS
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import Submission, write_submission
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.read.counts import log_counts
from tests.grids import write_grid

pytestmark = pytest.mark.slow


def _submit(storage: StorageRoot, config: Path, eval_set_id: str) -> None:
    write_submission(
        storage,
        Submission.new(eval_set_id, config.read_text(), source=str(config), base_dir=str(config.parent)),
    )


def _materialize(
    storage: StorageRoot, eval_set_id: str, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    if not instance.has_dynamic_partition(EVAL_SETS, eval_set_id):
        instance.add_dynamic_partitions(EVAL_SETS, [eval_set_id])
    job = build_definitions(storage_root=storage.uri).resolve_job_def(EVAL_SET_PIPELINE)
    return job.execute_in_process(instance=instance, partition_key=eval_set_id, raise_on_error=False)


def test_partition_materialises_logs_for_every_cell_and_warehouse_matches(
    tmp_path: Path,
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    dagster_instance: dg.DagsterInstance,
) -> None:
    url = make_database()
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", url)
    storage = StorageRoot(str(tmp_path / "root"))
    _submit(storage, write_grid(tmp_path / "cfg", tags=["nightly"], metadata={"team": "evals"}), "e2e-grid")

    instance = dagster_instance
    result = _materialize(storage, "e2e-grid", instance)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    logs_meta = {
        k: v.value
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("eval_logs")
        for k, v in e.step_materialization_data.materialization.metadata.items()
    }
    assert logs_meta["all_succeeded"] is True
    cells = {(c["task"], c["model"]): c for c in logs_meta["cells"]}
    assert set(cells) == {
        (task, f"hawk-mock/{model}")
        for task in ("addition", "multiplication")
        for model in ("careful", "sloppy")
    }
    assert all(c["samples"] == 3 and c["errors"] == 0 for c in cells.values())
    assert cells[("addition", "hawk-mock/careful")]["headline_value"] == 1.0
    assert cells[("addition", "hawk-mock/sloppy")]["headline_value"] == 0.0

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"all_cells_succeeded": True, "warehouse_matches_logs": True}

    # The materialisation is recorded on the instance under the partition.
    record = instance.get_latest_materialization_event(dg.AssetKey("eval_warehouse"))
    assert record is not None and record.dagster_event.partition == "e2e-grid"

    log_dir = storage.eval_log_dir("e2e-grid")
    assert len(list(Path(log_dir).glob("*.eval"))) == 4
    assert (Path(log_dir) / ".config.yaml").is_file()
    engine = create_warehouse_engine(url)
    with engine.connect() as conn:
        per_task = dict(
            conn.execute(
                text(
                    "SELECT e.task_id, count(s.*) FROM eval e JOIN sample s ON s.eval_pk = e.pk "
                    "WHERE e.eval_set_id = 'e2e-grid' GROUP BY e.task_id"
                )
            ).all()
        )
        scores = conn.execute(text("SELECT count(*) FROM score")).scalar_one()
        registry = conn.execute(
            text("SELECT name, tags, metadata, config FROM eval_set WHERE eval_set_id = 'e2e-grid'")
        ).one()
    engine.dispose()
    # The submission's facts reach the warehouse with the logs (searchable by `hawk list eval-sets`).
    assert registry.name == "e2e" and registry.tags == ["nightly"] and registry.metadata == {"team": "evals"}
    assert (
        registry.config["tags"] == ["nightly"]
        and registry.config["tasks"][0]["path"] == "tasks/arithmetic.py"
    )
    assert per_task == log_counts(log_dir)
    assert sum(per_task.values()) == 12 and scores == 12


def test_a_missing_declared_secret_fails_the_step_before_the_runner_starts(
    tmp_path: Path,
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    dagster_instance: dg.DagsterInstance,
) -> None:
    """The step checks secrets with the runner's own check, so the message is the one the CLI prints."""
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", make_database())
    monkeypatch.delenv("HAWK_TEST_ABSENT_TOKEN", raising=False)
    storage = StorageRoot(str(tmp_path / "root"))
    _submit(
        storage, write_grid(tmp_path / "cfg", runner={"secrets": ["HAWK_TEST_ABSENT_TOKEN"]}), "needs-secret"
    )
    instance = dagster_instance
    result = _materialize(storage, "needs-secret", instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "eval_logs"
    assert failure.step_failure_data.user_failure_data is not None
    description = failure.step_failure_data.user_failure_data.description or ""
    assert description == str(MissingSecretsError(["HAWK_TEST_ABSENT_TOKEN"]))
    assert not list(Path(storage.eval_log_dir("needs-secret")).glob("*.eval"))


def test_missing_partition_config_fails_with_a_clear_error(
    tmp_path: Path,
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    dagster_instance: dg.DagsterInstance,
) -> None:
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", make_database())
    storage = StorageRoot(str(tmp_path / "root"))
    instance = dagster_instance
    result = _materialize(storage, "never-submitted", instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error, messages = failure.step_failure_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any("has no submitted config" in m and "hawk local eval-set" in m for m in messages), messages
