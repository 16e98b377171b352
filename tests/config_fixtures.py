"""Fixtures for config tests (and the grid tests that need configs): the fixture tree copied per test, and a way
to write a config next to it."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hawk_dagster.cli.config_commands import validate

FIXTURES = Path(__file__).parent / "config" / "fixtures"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A private copy of the fixture tree (task files, the tiny CTF), so tests may break it freely."""
    target = tmp_path / "configs"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def write_config(workdir: Path) -> Callable[[str], Path]:
    """Write YAML text (dedented) as ``grid.yaml`` in the work directory and return its path."""

    def write(text: str, name: str = "grid.yaml") -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_validate() -> Callable[..., Result]:
    """Run ``hawk validate`` in-process; stdout and stderr are kept apart."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(validate, [str(a) for a in args], catch_exceptions=False)

    return run
