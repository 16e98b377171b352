"""``carried_files``: a config's relative paths resolve in the folder its carried files are in, when the caller can
find them; otherwise as before, against the config's own folder."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from hawk_dagster.config.carried import CarriedFilesError
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import load_eval_set_config, load_scan_config
from hawk_dagster.evals.planning import build_run_plan
from hawk_dagster.scans.planning import scan_packages
from tests.grids import EXAMPLES

BUNDLE = "0123456789abcdef0123456789abcdef"

GRID = textwrap.dedent(
    f"""\
    carried_files: {BUNDLE}
    tasks:
      - path: tasks/arithmetic.py
        items: [{{name: addition}}]
      - package: ./packages/hawk-example-tasks
        name: hawk_example_tasks
        items: [{{name: subtraction}}]
    models:
      - items: [{{name: hawk-mock/m}}]
    """
)


@pytest.fixture
def carried(tmp_path: Path) -> Path:
    """A folder standing for a bundle: the example task file and package, as the config's paths expect them."""
    folder = tmp_path / "bundle" / "files"
    shutil.copytree(EXAMPLES / "tasks", folder / "tasks")
    shutil.copytree(EXAMPLES / "packages" / "hawk-example-tasks", folder / "packages" / "hawk-example-tasks")
    return folder


def test_relative_paths_resolve_in_the_carried_files(carried: Path, tmp_path: Path) -> None:
    asked: list[str] = []

    def resolver(bundle_id: str) -> Path:
        asked.append(bundle_id)
        return carried

    configs = tmp_path / "configs"  # where the config sits: the files are not there
    configs.mkdir()
    loaded = load_eval_set_config(configs / "grid.yaml", text=GRID, base_dir=configs, carried=resolver)
    assert asked == [BUNDLE] and loaded.base_dir == carried and loaded.warnings == []
    plan = build_run_plan(loaded, eval_set_id="es", log_dir=str(tmp_path / "logs"))
    assert plan.cells[0].task.ref == f"{carried.resolve()}/tasks/arithmetic.py@addition"
    assert plan.packages == [str((carried / "packages" / "hawk-example-tasks").resolve())]


def test_a_config_off_this_machine_with_carried_files_is_checked_in_them(carried: Path) -> None:
    """An s3:// config has no folder here; its carried files are enough to check and plan its `path` tasks."""
    loaded = load_eval_set_config(
        "s3://bucket/configs/eval-sets/g.yaml", text=GRID, carried=lambda _: carried
    )
    assert loaded.base_dir == carried


def test_missing_carried_files_are_an_error_at_the_field(tmp_path: Path) -> None:
    def resolver(bundle_id: str) -> Path:
        raise CarriedFilesError(f"no carried files {bundle_id} here")

    with pytest.raises(ConfigError) as info:
        load_eval_set_config(tmp_path / "g.yaml", text=GRID, base_dir=tmp_path, carried=resolver)
    [issue] = info.value.issues
    assert issue.path == "carried_files" and issue.line == 1
    assert f"no carried files {BUNDLE} here" in issue.allowed


def test_without_a_resolver_paths_resolve_against_the_config_folder_with_a_warning(carried: Path) -> None:
    config = carried / "grid.yaml"
    config.write_text(GRID)
    loaded = load_eval_set_config(config)
    assert loaded.base_dir == carried.resolve()
    assert any(w.startswith("carried_files:") for w in loaded.warnings)


def test_a_malformed_id_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_eval_set_config(tmp_path / "g.yaml", text=GRID.replace(BUNDLE, "../../etc"), base_dir=tmp_path)
    [issue] = info.value.issues
    assert issue.path == "carried_files" and "hawk eval-set" in issue.allowed


def test_scan_packages_resolve_in_the_carried_files(carried: Path, tmp_path: Path) -> None:
    scan = textwrap.dedent(
        f"""\
        carried_files: {BUNDLE}
        scanners:
          - package: ./packages/hawk-example-tasks
            name: hawk_example_tasks
            items: [{{name: keyword}}]
        transcripts:
          sources: [{{eval_set_id: es}}]
        """
    )
    loaded = load_scan_config(tmp_path / "s.yaml", text=scan, base_dir=tmp_path, carried=lambda _: carried)
    assert scan_packages(loaded) == [str((carried / "packages" / "hawk-example-tasks").resolve())]
