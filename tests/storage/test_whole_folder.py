"""A folder built beside its place appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.storage.whole_folder import building_folder


def test_the_folder_appears_once_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "abc"
    with building_folder(target, "READY") as staging:
        (staging / "READY").write_text("ok")
        assert not target.exists()
    assert (target / "READY").read_text() == "ok"
    assert [p.name for p in target.parent.iterdir()] == ["abc"]


def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "abc"
    with pytest.raises(RuntimeError), building_folder(target, "READY") as staging:
        (staging / "half").write_text("x")
        raise RuntimeError("build failed")
    assert list(tmp_path.iterdir()) == []


def test_a_copy_finished_first_by_another_process_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "abc"
    with building_folder(target, "READY") as staging:
        (staging / "READY").write_text("mine")
        target.mkdir()
        (target / "READY").write_text("theirs")  # the other process renamed its copy in meanwhile
    assert (target / "READY").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["abc"]
