"""The per-user "last eval set" the CLI falls back to."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.cli.state import last_eval_set, remember_eval_set


def test_remembers_the_last_eval_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert last_eval_set() is None
    remember_eval_set("first-one")
    remember_eval_set("second-one")
    assert last_eval_set() == "second-one"
    assert (tmp_path / "hawk-dagster" / "last-eval-set-id").read_text() == "second-one\n"


def test_an_unwritable_home_does_not_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    remember_eval_set("x")
    assert last_eval_set() is None
