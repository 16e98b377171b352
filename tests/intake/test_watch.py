"""The Dagster-free half of the configs sensor: cursor format and listing rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from upath import UPath

from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
from hawk_dagster.intake import watch
from hawk_dagster.intake.watch import (
    WatchCursor,
    WatchResult,
    is_config_name,
    list_configs,
    process_new_configs,
)
from hawk_dagster.storage.carried import CarriedFiles
from hawk_dagster.storage.root import StorageRoot
from tests.config.test_yaml_source import laughs


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


# --- hostile folders: each odd entry is refused with a clear error file, and the tick never hangs ----------------

GRID = "tasks:\n  - package: inspect-ai\n    items: [{name: t}]\nmodels:\n  - items: [{name: mockllm/m}]\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "configs" / "eval-sets"
    path.mkdir(parents=True)
    return path


def run(folder: Path, cursor: WatchCursor | None = None) -> WatchResult[None]:
    storage = StorageRoot(str(folder.parent.parent))
    return process_new_configs(storage, cursor or WatchCursor(), EVAL_SET_CONFIGS_KIND)


def error_text(folder: Path, name: str) -> str:
    return (folder / f"{name}.error").read_text()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "target",
    ["../../outside.yaml", "/dev/zero", "/nonexistent/grid.yaml", "link.yaml", "../fifo", "sub.yaml"],
    ids=["outside the folder", "a device", "dangling", "a loop", "a fifo", "a directory"],
)
def test_a_symlink_is_refused_unread(folder: Path, target: str) -> None:
    (folder.parent.parent / "outside.yaml").write_text(GRID)
    os.mkfifo(folder.parent / "fifo")
    (folder / "sub.yaml").mkdir()
    (folder / "link.yaml").symlink_to(target)

    result = run(folder)
    assert result.to_submit == []
    by_name = {r.name: r for r in result.rejected}
    assert f"link.yaml is a symbolic link (to {target})" in by_name["link.yaml"].message
    assert "copy the config in" in error_text(folder, "link.yaml")
    assert "is a directory, not a config file" in by_name["sub.yaml"].message
    assert not (folder.parent.parent / "evals").exists()

    again = run(folder, result.cursor)  # the same entries, unchanged: refused once, not every tick
    assert again.rejected == [] and again.to_submit == []


@pytest.mark.timeout(60)
def test_a_fifo_is_refused_without_blocking(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    (folder / "fine.yaml").write_text(GRID)
    result = run(folder)
    assert [a.name for a in result.to_submit] == ["fine.yaml"]
    [rejected] = result.rejected
    assert rejected.name == "pipe.yaml" and "is a named pipe (FIFO), not a config file" in rejected.message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("replacement", ["fifo", "symlink to /dev/zero"])
def test_a_file_replaced_after_the_listing_is_refused_without_blocking(
    folder: Path, monkeypatch: pytest.MonkeyPatch, replacement: str
) -> None:
    (folder / "grid.yaml").write_text(GRID)
    listing = list_configs(UPath(folder))
    (folder / "grid.yaml").unlink()
    if replacement == "fifo":
        os.mkfifo(folder / "grid.yaml")
    else:
        (folder / "grid.yaml").symlink_to("/dev/zero")
    monkeypatch.setattr(watch, "list_configs", lambda _dir: listing)
    result = run(folder)
    assert result.to_submit == []
    [rejected] = result.rejected
    assert "named pipe" in rejected.message or "symbolic link (to /dev/zero)" in rejected.message


def test_a_file_that_vanishes_after_the_listing_is_skipped(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "grid.yaml").write_text(GRID)
    listing = list_configs(UPath(folder))
    (folder / "grid.yaml").unlink()
    monkeypatch.setattr(watch, "list_configs", lambda _dir: listing)
    result = run(folder)
    assert result.to_submit == [] and result.rejected == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(laughs(6).encode(), "once aliases are expanded", id="alias bomb"),
        pytest.param(GRID.encode() + laughs(9).encode(), "once aliases are expanded", id="billion laughs"),
        pytest.param(b"[" * 10_000, "nested more than 64 levels deep", id="deep nesting"),
        pytest.param(
            GRID.encode() + b"x: " + b"a" * (2 << 20), "a file of more than 1 MiB", id="huge scalar"
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8", id="binary"),
        pytest.param(GRID.encode() + b"x: \x00\n", "the control character U+0000", id="NUL byte"),
        pytest.param(b"", "an empty file", id="empty"),
        pytest.param(GRID.encode() + b"---\n" + GRID.encode(), "a second YAML document", id="two documents"),
        pytest.param(b"- tasks\n", "the top level must be a mapping", id="a list"),
    ],
)
def test_hostile_content_gets_an_error_file(folder: Path, content: bytes, says: str) -> None:
    (folder / "bad.yaml").write_bytes(content)
    result = run(folder)
    assert result.to_submit == []
    [rejected] = result.rejected
    assert says in rejected.message and "could not be validated" not in rejected.message
    assert rejected.message.startswith(str(folder / "bad.yaml"))
    assert says in error_text(folder, "bad.yaml")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_an_error_file_is_replaced_never_written_through(folder: Path, kind: str) -> None:
    victim = folder.parent.parent / "precious.txt"
    victim.write_text("keep me\n")
    error_file = folder / "bad.yaml.error"
    if kind == "symlink":
        error_file.symlink_to(victim)
    else:
        os.mkfifo(error_file)
    (folder / "bad.yaml").write_text("tasks: [unclosed\n")
    [rejected] = run(folder).rejected
    assert rejected.error_file == str(error_file)
    assert victim.read_text() == "keep me\n"
    assert not error_file.is_symlink() and "hawk rejected bad.yaml" in error_file.read_text()
    assert oct(error_file.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


@pytest.mark.timeout(60)
def test_an_owner_file_turned_into_a_fifo_does_not_block_the_owner_check(folder: Path) -> None:
    (folder / "first.yaml").write_text("eval_set_id: shared\n" + GRID)
    first = run(folder)
    assert [a.eval_set_id for a in first.to_submit] == ["shared"]
    (folder / "first.yaml").unlink()
    os.mkfifo(folder / "first.yaml")
    (folder / "second.yaml").write_text("eval_set_id: shared\n" + GRID)
    second = run(folder, first.cursor)
    assert [a.eval_set_id for a in second.to_submit] == ["shared"]  # a FIFO claims nothing
