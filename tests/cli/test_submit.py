"""``hawk eval-set``: validate, drop the config into the configs bucket, and the sensor takes it from there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner, Result
from hawk_runner.plan import RunPlan

from hawk_dagster.cli.submit import submit_eval_set
from hawk_dagster.definitions import build_definitions
from hawk_dagster.evals.planning import load_submitted_eval_set, plan_for_eval_set
from hawk_dagster.names import EVAL_SET_PIPELINE
from hawk_dagster.storage.root import StorageRoot
from tests.evals.test_sensor import Drop, apply_partitions, grid, tick
from tests.grids import EXAMPLES


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


# --- carried files -------------------------------------------------------------------------------------------------


def carried_id(text: str) -> str:
    found = re.search(r"^carried_files: '([0-9a-f]{32})'$", text, re.M)
    assert found, text
    return found.group(1)


def local_paths(plan: RunPlan) -> list[Path]:
    """Every local file or folder a plan names: task files, Cyber folders, local packages."""
    paths = [Path(c.task.ref.rpartition("@")[0]) for c in plan.cells if c.task.kind == "file"]
    paths += [Path(c.task.ref) for c in plan.cells if c.task.kind == "cyber"]
    return paths + [Path(p) for p in plan.packages if p.startswith("/")]


@pytest.mark.parametrize("example", ["simple", "ctf", "package"])
def test_each_example_is_carried_accepted_by_the_sensor_and_planned_from_its_files(
    storage_root: str, example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an object-store root keeps fetched bundles under ./.hawk
    proc = hawk(storage_root, "eval-set", str(EXAMPLES / f"{example}.eval-set.yaml"))
    assert proc.returncode == 0, proc.stderr
    eval_set_id = proc.stdout.strip()
    storage = StorageRoot(storage_root)
    bundle = carried_id((storage.eval_set_configs / f"{eval_set_id}.yaml").read_text())
    assert "carried " in proc.stderr and bundle in proc.stderr
    assert storage.path("configs", ".carried", bundle, "manifest.json").exists()

    result = tick(Drop(storage_root), dg.DagsterInstance.ephemeral(), None)

    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == [eval_set_id]
    assert [p.name for p in storage.eval_set_configs.iterdir()] == [f"{eval_set_id}.yaml"]  # no .error
    plan = plan_for_eval_set(storage, load_submitted_eval_set(storage, eval_set_id))
    where = (
        storage.local_path / "configs" / ".carried" / bundle
        if storage.is_local
        else tmp_path / ".hawk" / "carried" / bundle  # fetched to this machine before anything runs
    )
    paths = local_paths(plan)
    assert paths and all(p.exists() and p.is_relative_to(where) for p in paths), (paths, where)


def test_paths_above_the_config_folder_are_carried_and_resolve(storage_root: str, tmp_path: Path) -> None:
    """A config in `repo/configs/` naming `../tasks/arithmetic.py` and `../packages/...`: the bundle keeps the
    layout around the config, so the same relative paths resolve on the deployment."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "tasks", repo / "tasks")
    shutil.copytree(EXAMPLES / "packages" / "hawk-example-tasks", repo / "packages" / "tasks")
    config = repo / "configs" / "grid.yaml"
    config.parent.mkdir()
    config.write_text(
        "tasks:\n  - path: ../tasks/arithmetic.py\n    items: [{name: addition}]\n"
        "packages: [../packages/tasks]\nmodels:\n  - items: [{name: hawk-mock/m}]\n"
    )
    proc = hawk(storage_root, "eval-set", str(config))
    assert proc.returncode == 0, proc.stderr
    eval_set_id = proc.stdout.strip()
    result = tick(Drop(storage_root), dg.DagsterInstance.ephemeral(), None)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == [eval_set_id]
    storage = StorageRoot(storage_root)
    plan = plan_for_eval_set(storage, load_submitted_eval_set(storage, eval_set_id))
    task_file, package = local_paths(plan)
    assert task_file.parts[-2:] == ("tasks", "arithmetic.py") and (package / "pyproject.toml").is_file()
    assert task_file.parents[1] == package.parents[1]  # `configs/..` in the bundle, as in the repo


def submit(root: str, config: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        submit_eval_set, [str(config), *extra], env={"HAWK_STORAGE_ROOT": root, **(env or {})}
    )


def assert_nothing_written(root: str) -> None:
    configs = StorageRoot(root).path("configs")
    assert not configs.exists() or not [p for p in configs.rglob("*") if p.is_file()]


def grid_with(tasks_yaml: str, extra: str = "") -> str:
    return f"tasks:\n{tasks_yaml}models:\n  - items: [{{name: hawk-mock/m}}]\n{extra}"


ARITHMETIC = "    items: [{name: addition}]\n"


@pytest.mark.parametrize(
    ("make", "field", "fragment"),
    [
        (
            lambda d: grid_with(f"  - path: {d / 'tasks' / 'arithmetic.py'}\n{ARITHMETIC}"),
            "tasks[0].path",
            "write 'tasks/arithmetic.py' instead",
        ),
        (
            lambda d: grid_with(f"  - path: tasks/arithmetic.py\n{ARITHMETIC}", f"packages: [{d / 'pkg'}]\n"),
            "packages[0]",
            "is a location on this machine only",
        ),
        (
            lambda d: grid_with(f"  - path: tasks/arithmetic.py\n{ARITHMETIC}", "packages: ['~/pkg']\n"),
            "packages[0]",
            "is a location on this machine only",
        ),
        (
            lambda d: grid_with(
                "  - package: ./no-such-package\n    name: nothing\n    items: [{name: t}]\n"
            ),
            "tasks[0].package",
            "does not exist",
        ),
        (
            lambda d: grid_with(
                f"  - path: tasks/arithmetic.py\n{ARITHMETIC}", f"carried_files: '{'a' * 32}'\n"
            ),
            "carried_files",
            "remove this line",
        ),
    ],
)
def test_what_cannot_be_carried_exits_2_naming_the_field_and_writes_nothing(
    storage_root: str, tmp_path: Path, make: Callable[[Path], str], field: str, fragment: str
) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "tasks", folder / "tasks")
    (folder / "pkg").mkdir()
    config = folder / "grid.yaml"
    config.write_text(make(folder))
    result = submit(storage_root, config)
    assert result.exit_code == 2, result.output
    assert f"{field}: " in result.stderr and fragment in result.stderr, result.stderr
    assert str(config) in result.stderr
    assert_nothing_written(storage_root)


def test_a_symlink_out_of_the_task_folder_exits_2(storage_root: str, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "tasks", folder / "tasks")
    (tmp_path / "private.txt").write_text("not for the deployment")
    os.symlink(tmp_path / "private.txt", folder / "tasks" / "notes.txt")
    config = folder / "grid.yaml"
    config.write_text(grid_with(f"  - path: tasks/arithmetic.py\n{ARITHMETIC}"))
    result = submit(storage_root, config)
    assert result.exit_code == 2
    assert "tasks[0].path: " in result.stderr and "symbolic link" in result.stderr
    assert_nothing_written(storage_root)


def test_a_task_file_in_a_big_folder_exits_2_with_the_limit(storage_root: str, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "tasks", folder)
    for i in range(4):
        (folder / f"results-{i}.csv").write_text("1,2\n")
    config = folder / "grid.yaml"
    config.write_text(grid_with(f"  - path: arithmetic.py\n{ARITHMETIC}"))
    result = submit(storage_root, config, env={"HAWK_CARRY_MAX_FILES": "3"})
    assert result.exit_code == 2
    assert "tasks[0].path: " in result.stderr and "past 3" in result.stderr
    assert_nothing_written(storage_root)
    assert submit(storage_root, config).exit_code == 0  # within the default limit


def test_a_cyber_file_outside_its_folder_is_caught_before_submitting(
    storage_root: str, tmp_path: Path
) -> None:
    """Checked locally it exists; carried, it would not: the final config is checked as the sensor will."""
    folder = tmp_path / "cfg"
    shutil.copytree(EXAMPLES / "ctf", folder / "ctf")
    (folder / "shared.txt").write_text("flag{shared}")
    eval_file = folder / "ctf" / "tiny_ctf" / "eval.yaml"
    eval_file.write_text(eval_file.read_text().replace("flag.txt: flag.txt", "flag.txt: ../../shared.txt"))
    config = folder / "grid.yaml"
    config.write_text(grid_with("  - cyber: ctf\n"))
    result = submit(storage_root, config)
    assert result.exit_code == 2, result.output
    assert "the deployment would refuse" in result.stderr and "files['flag.txt']" in result.stderr
    assert "hawk-carry-" not in result.stderr  # staging paths are shown as the paths here
    assert_nothing_written(storage_root)


def test_an_id_owned_by_another_config_file_exits_2(storage_root: str, tmp_path: Path) -> None:
    """The sensor would refuse a second file claiming an id another file in the folder owns: so does the CLI."""
    drop = Drop(storage_root)
    drop.put("owner.yaml", grid("shared-id"))
    tick(drop, dg.DagsterInstance.ephemeral(), None)
    config = tmp_path / "mine.yaml"
    config.write_text(grid("shared-id"))
    result = submit(storage_root, config)
    assert result.exit_code == 2
    assert "already belongs to" in result.stderr and "owner.yaml" in result.stderr
    assert not drop.exists("shared-id.yaml")


def test_the_same_files_are_uploaded_once(storage_root: str, tmp_path: Path) -> None:
    first = submit(storage_root, EXAMPLES / "simple.eval-set.yaml")
    second = submit(storage_root, EXAMPLES / "simple.eval-set.yaml")
    assert first.exit_code == second.exit_code == 0
    bundles = list(StorageRoot(storage_root).path("configs", ".carried").iterdir())
    assert len(bundles) == 1


@pytest.mark.slow
@pytest.mark.parametrize(("example", "logs"), [("simple", 4), ("ctf", 1), ("package", 1)])
def test_a_submitted_example_runs_through_dagster_to_eval_logs(
    example: str,
    logs: int,
    tmp_path: Path,
    make_database: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    dagster_instance: dg.DagsterInstance,
) -> None:
    """`hawk eval-set`, the sensor's tick, then the run it requests, materialised by Dagster from the carried files."""
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", make_database())
    root = str(tmp_path / "root")
    proc = hawk(root, "eval-set", str(EXAMPLES / f"{example}.eval-set.yaml"))
    assert proc.returncode == 0, proc.stderr
    eval_set_id = proc.stdout.strip()

    run_the_submitted_eval_set(root, dagster_instance)
    log_dir = Path(StorageRoot(root).eval_log_dir(eval_set_id))
    assert len(list(log_dir.glob("*.eval"))) == logs


def run_the_submitted_eval_set(root: str, instance: dg.DagsterInstance) -> None:
    """The sensor's tick on ``root``, then the one run it requests, materialised by Dagster; its checks pass."""
    result = tick(Drop(root), instance, None)
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests or []
    apply_partitions(instance, result)
    job = build_definitions(storage_root=root).resolve_job_def(EVAL_SET_PIPELINE)
    run = job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags, raise_on_error=False
    )
    assert run.success, [e.message for e in run.all_events if e.is_failure]
    checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
    assert checks == {"all_cells_succeeded": True, "warehouse_matches_logs": True}


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
