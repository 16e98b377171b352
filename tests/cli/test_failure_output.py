"""What a user sees when something fails: one line, no traceback (unless ``--verbose``), no library warnings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.exc import SAWarning

from hawk_dagster.cli import main
from tests.cli.conftest import HAWK

UNREACHABLE = "postgresql://hawk:pw@127.0.0.1:9/x"


def _hawk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAWK_STORAGE_ROOT": str(tmp_path), "HAWK_WAREHOUSE_URL": UNREACHABLE}
    env.pop(main.VERBOSE_ENV, None)
    return subprocess.run([*HAWK, *args], env=env, capture_output=True, text=True, timeout=120)


def test_an_unexpected_error_is_one_line_and_verbose_shows_the_traceback(tmp_path: Path) -> None:
    proc = _hawk(tmp_path, "list", "eval-sets")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: OperationalError: ") and "Connection refused" in line
    assert line.endswith("(`hawk --verbose ...` shows the traceback)")
    loud = _hawk(tmp_path, "--verbose", "list", "eval-sets")
    assert loud.returncode == 1 and "Traceback (most recent call last)" in loud.stderr


def test_library_warnings_are_hidden_unless_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster as dg

    shown: list[str] = []
    monkeypatch.setattr(main, "_show_warning", lambda message, *args: shown.append(str(message)))
    monkeypatch.delenv(main.VERBOSE_ENV, raising=False)

    def warn(message: str, category: type[Warning], filename: str = "/x/site-packages/hawk/a.py") -> None:
        main._show_warning_unless_quiet(message, category, filename, 1)

    warn("an SQLAlchemy note", SAWarning)
    warn("a Dagster note", dg.PreviewWarning)
    warn("a Dagster UserWarning", UserWarning, "/x/site-packages/dagster/_core/a.py")
    warn("our own warning", UserWarning)
    assert shown == ["our own warning"]
    monkeypatch.setenv(main.VERBOSE_ENV, "1")
    warn("an SQLAlchemy note", SAWarning)
    assert shown == ["our own warning", "an SQLAlchemy note"]
