"""The Dagster-free half of the configs sensor: cursor format and listing rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from upath import UPath

from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
from hawk_dagster.intake.watch import WatchCursor, is_config_name, list_configs, process_new_configs
from hawk_dagster.storage.carried import CarriedFiles
from hawk_dagster.storage.root import StorageRoot


def test_cursor_round_trips_and_accepts_old_forms() -> None:
    cursor = WatchCursor(ts=1700000000.5, seen={"b.yaml": "22", "a.yaml": "11"})
    assert cursor.dumps() == '{"root":"","ts":1700000000.5,"seen":{"a.yaml":"11","b.yaml":"22"}}'
    assert WatchCursor.parse(cursor.dumps()) == cursor
    assert WatchCursor.parse(None) == WatchCursor() == WatchCursor.parse("")
    assert WatchCursor.parse("1700000000") == WatchCursor(ts=1700000000.0)


@pytest.mark.parametrize("raw", ["not json", '["a"]', '{"ts": "x"}', '{"ts": 1, "seen": []}'])
def test_a_garbled_cursor_fails_loudly(raw: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        WatchCursor.parse(raw)


@pytest.mark.parametrize(
    ("name", "is_config"),
    [
        ("grid.yaml", True),
        ("grid.YML", True),
        (".grid.yaml", False),
        ("grid.yaml.error", False),
        ("g.json", False),
    ],
)
def test_config_names(name: str, is_config: bool) -> None:
    assert is_config_name(name) is is_config


def test_a_missing_folder_lists_nothing(tmp_path: Path) -> None:
    assert list_configs(UPath(tmp_path / "absent")) == []


def test_a_file_moved_in_with_an_old_mtime_still_counts(tmp_path: Path) -> None:
    """``mv`` keeps the mtime; locally the ctime (set by the move) makes the file new."""
    storage = StorageRoot(str(tmp_path))
    folder = tmp_path / "configs" / "eval-sets"
    folder.mkdir(parents=True)
    grid = "name: g\ntasks:\n  - package: inspect-ai\n    items: [{name: t}]\nmodels:\n  - items: [{name: mockllm/m}]\n"
    (folder / "first.yaml").write_text(grid)
    first = process_new_configs(storage, WatchCursor(), EVAL_SET_CONFIGS_KIND)
    assert [a.eval_set_id for a in first.to_submit] == ["first"]

    outside = tmp_path / "moved.yaml"
    outside.write_text(grid)
    os.utime(outside, (time.time() - 86400, time.time() - 86400))
    time.sleep(0.01)
    outside.rename(folder / "moved.yaml")

    second = process_new_configs(storage, first.cursor, EVAL_SET_CONFIGS_KIND)
    assert [a.eval_set_id for a in second.to_submit] == ["moved"]


def test_a_storage_failure_fetching_carried_files_fails_the_tick_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the config's fault: no error file, nothing recorded, and the next tick tries again."""
    folder = tmp_path / "configs" / "eval-sets"
    folder.mkdir(parents=True)
    grid = f"carried_files: '{'0' * 32}'\ntasks:\n  - path: t.py\nmodels:\n  - items: [{{name: mockllm/m}}]\n"
    (folder / "g.yaml").write_text(grid)

    def unreachable(self: CarriedFiles, bundle_id: str) -> Path:
        raise ConnectionError("the bucket is unreachable")

    monkeypatch.setattr(CarriedFiles, "__call__", unreachable)
    with pytest.raises(ConnectionError):
        process_new_configs(StorageRoot(str(tmp_path)), WatchCursor(), EVAL_SET_CONFIGS_KIND)
    assert sorted(p.name for p in folder.iterdir()) == ["g.yaml"]
