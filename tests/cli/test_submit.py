"""``hawk eval-set``: validate, drop the config into the configs bucket, and the sensor takes it from there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

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
