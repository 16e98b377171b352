"""``hawk eval-set``: validate, drop the config into the configs bucket, and the sensor takes it from there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from hawk_dagster.storage.root import StorageRoot
from tests.evals.test_sensor import Drop, grid, tick


def hawk(root: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hawk_dagster.cli", *args],
        env={**os.environ, "HAWK_STORAGE_ROOT": root},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_submission_lands_in_the_configs_folder_and_the_sensor_runs_it(
    storage_root: str, tmp_path: Path
) -> None:
    config = tmp_path / "my grid.yaml"
    config.write_text("# keep this comment\n" + grid(name="Nightly Grid"))
    proc = hawk(storage_root, "eval-set", str(config))
    assert proc.returncode == 0, proc.stderr
    eval_set_id = proc.stdout.strip()
    assert eval_set_id.startswith("nightly-grid-") and len(eval_set_id) == len("nightly-grid-") + 16

    submitted = StorageRoot(storage_root).eval_set_configs / f"{eval_set_id}.yaml"
    text = submitted.read_text()
    assert text.startswith(f"eval_set_id: {eval_set_id}\n") and "# keep this comment" in text

    result = tick(Drop(storage_root), dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == [eval_set_id]


def test_a_fixed_eval_set_id_is_kept(storage_root: str, tmp_path: Path) -> None:
    config = tmp_path / "grid.yaml"
    config.write_text(grid("pinned-id"))
    proc = hawk(storage_root, "eval-set", str(config))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pinned-id"
    assert (StorageRoot(storage_root).eval_set_configs / "pinned-id.yaml").read_text() == grid("pinned-id")


def test_confirmed_pass_through_keys_reach_the_sensor_confirmed(storage_root: str, tmp_path: Path) -> None:
    """The sensor refuses unknown keys a file does not confirm; ``hawk eval-set`` asked, so the file confirms them."""
    config = tmp_path / "grid.yaml"
    config.write_text(grid("with-extras") + "max_tasks: 2\n")
    refused = hawk(storage_root, "eval-set", str(config))  # no terminal to ask on
    assert refused.returncode == 2 and "--skip-confirm" in refused.stderr

    proc = hawk(storage_root, "eval-set", str(config), "--skip-confirm")
    assert proc.returncode == 0, proc.stderr
    submitted = (StorageRoot(storage_root).eval_set_configs / "with-extras.yaml").read_text()
    assert submitted == "# hawk-pass-through: max_tasks\n" + grid("with-extras") + "max_tasks: 2\n"

    result = tick(Drop(storage_root), dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["with-extras"]


def test_bad_config_is_refused_and_nothing_is_submitted(storage_root: str, tmp_path: Path) -> None:
    config = tmp_path / "grid.yaml"
    config.write_text(
        grid().replace("items: [{name: some_task}]", "items: [{name: some_task, sample_ids: []}]")
    )
    proc = hawk(storage_root, "eval-set", str(config))
    assert proc.returncode == 2
    assert "tasks[0].items[0].sample_ids" in proc.stderr
    configs = StorageRoot(storage_root).eval_set_configs
    assert not configs.exists() or not list(configs.iterdir())


def test_the_text_submitted_is_the_text_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit saved between validation and submission must not be submitted unvalidated."""
    from click.testing import CliRunner

    from hawk_dagster.cli import submit

    config = tmp_path / "grid.yaml"
    config.write_text(grid("checked"))
    validate = submit.load_config_or_exit

    def validate_then_edit(path: Path, **kwargs: Any) -> Any:
        loaded = validate(path, **kwargs)
        path.write_text("eval_set_id: checked\ntasks: not a list\n")
        return loaded

    monkeypatch.setattr(submit, "load_config_or_exit", validate_then_edit)
    root = tmp_path / "root"
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(root))
    result = CliRunner().invoke(submit.submit_eval_set, [str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (StorageRoot(str(root)).eval_set_configs / "checked.yaml").read_text() == grid("checked")
