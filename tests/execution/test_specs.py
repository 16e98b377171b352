"""Package specs as the runner's environment installs them: local paths made absolute against the config's folder."""

from __future__ import annotations

from pathlib import Path

from hawk_dagster.execution.specs import resolve_package_specs


def test_local_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    base = tmp_path / "repo" / "configs"
    specs = [".", "..", "./pkg", "../pkg", "openai>=1.40", "./pkg"]
    assert resolve_package_specs(specs, base) == [
        str(base),
        str(base.parent),
        str(base / "pkg"),
        str(base.parent / "pkg"),
        "openai>=1.40",
    ]
