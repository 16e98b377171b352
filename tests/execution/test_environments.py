"""The runner requirement pins the very runner this process runs (PEP 610), so a fresh venv matches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.execution.environments import runner_requirement


def test_workspace_install_is_pinned_to_the_local_source() -> None:
    requirement = runner_requirement()
    runner_dir = Path(__file__).resolve().parents[2] / "runner"
    assert requirement == f"hawk-runner @ {runner_dir.as_uri()}"


def test_environment_key_reuses_only_what_its_requirements_pin(tmp_path: Path) -> None:
    from hawk_dagster.execution.environments import environment_key

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    pinned = environment_key(["inspect-evals==0.3.1", str(package)])
    assert pinned is not None and pinned == environment_key(["inspect-evals==0.3.1", str(package)])
    assert (
        environment_key(["inspect-evals==0.3.1", str(package)], ["scan"]) != pinned
    )  # extras change the runner
    assert environment_key(["inspect-evals==0.3.2", str(package)]) != pinned

    (package / "module.py").write_text("x = 1\n")  # an edited local package gets a new environment
    assert environment_key(["inspect-evals==0.3.1", str(package)]) != pinned

    for moving in (
        "inspect-evals",
        "inspect-evals>=0.3",
        "git+https://github.com/org/repo@main",
        "https://x/y.whl",
    ):
        assert environment_key([moving]) is None, moving


def test_reused_environment_is_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hawk_dagster.execution import environments as runner_env

    builds: list[Path] = []

    def fake_build(packages: list[str], dest: Path, *, extras: list[str] | None = None) -> Path:
        builds.append(dest)
        (dest / "bin").mkdir(parents=True)
        return dest / "bin" / "python"

    monkeypatch.setattr(runner_env, "build_runner_venv", fake_build)
    cache = tmp_path / "envs"
    with runner_env.runner_python(["pkg==1.0"], cache) as first:
        pass
    with runner_env.runner_python(["pkg==1.0"], cache) as second:
        pass
    assert first == second and first.is_relative_to(cache) and len(builds) == 1
    with runner_env.runner_python(["pkg"], cache) as fresh:  # unpinned: built for this run, removed after it
        assert fresh.parent.exists()
    assert not fresh.parent.exists() and len(builds) == 2
