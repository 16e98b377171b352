"""The runner requirement pins the very runner this process runs (PEP 610), so a fresh venv matches it."""

from __future__ import annotations

from pathlib import Path

from hawk_dagster.runner_env import runner_requirement


def test_workspace_install_is_pinned_to_the_local_source() -> None:
    requirement = runner_requirement()
    runner_dir = Path(__file__).resolve().parents[2] / "runner"
    assert requirement == f"hawk-runner @ {runner_dir.as_uri()}"
