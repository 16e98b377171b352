"""What the CLI remembers and what read commands leave behind: the last ids are per storage root and set by runs
only; listing where nothing ever ran creates nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hawk_dagster.cli.state import last_eval_set, last_scan, remember_eval_set, remember_scan
from tests.cli.conftest import HAWK
from tests.grids import EXAMPLES


def test_the_last_ids_are_kept_per_root_and_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert last_eval_set("/a") is None
    remember_eval_set("/a", "first-one")
    remember_eval_set("/a", "second-one")
    remember_eval_set("s3://team/hawk", "theirs")
    remember_scan("/a", "a-scan")
    assert last_eval_set("/a") == "second-one"
    assert last_eval_set("s3://team/hawk") == "theirs"
    assert last_eval_set("/b") is None
    assert last_scan("/a") == "a-scan" and last_scan("s3://team/hawk") is None


def test_an_unwritable_or_garbled_state_does_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    remember_eval_set("/a", "x")
    assert last_eval_set("/a") is None
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (tmp_path / "cfg" / "hawk-dagster").mkdir(parents=True)
    (tmp_path / "cfg" / "hawk-dagster" / "last-ids.json").write_text("[not json")
    assert last_eval_set("/a") is None
    remember_eval_set("/a", "y")
    assert last_eval_set("/a") == "y"


def _hawk(cwd: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("HAWK_STORAGE_ROOT", "HAWK_WAREHOUSE_URL")}
    return subprocess.run(
        [*HAWK, *args],
        cwd=cwd,
        env={**clean, "XDG_CONFIG_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [["list", "eval-sets"], ["list", "samples", "some-id"], ["list", "scans"], ["transcript", "0000"]],
)
def test_read_commands_in_an_empty_folder_create_nothing(tmp_path: Path, command: list[str]) -> None:
    folder, home = tmp_path / "empty", tmp_path / "home"
    folder.mkdir()
    proc = _hawk(folder, home, *command)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no warehouse under" in proc.stderr and "Traceback" not in proc.stderr
    assert list(folder.iterdir()) == [] and not home.exists()


def test_a_submission_does_not_become_the_last_eval_set(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "deployment"
    proc = _hawk(
        tmp_path, home, "eval-set", str(EXAMPLES / "package.eval-set.yaml"), HAWK_STORAGE_ROOT=str(root)
    )
    assert proc.returncode == 0, proc.stderr
    listing = _hawk(tmp_path, home, "list", "samples", HAWK_STORAGE_ROOT=str(root))
    assert listing.returncode == 2
    assert "no EVAL_SET_ID given and no eval set has run on this machine under" in listing.stderr
