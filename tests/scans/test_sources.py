"""Which eval sets a scan reads: the tags of every submitted eval set, read from snapshots that may be hostile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hawk_dagster.scans.sources import eval_set_tags
from hawk_dagster.storage.root import StorageRoot
from tests.config.test_yaml_source import laughs
from tests.scans.submitted import submitted_eval_set

pytestmark = pytest.mark.timeout(
    60
)  # the scan sensors call this every tick: a regression must fail, not hang


def snapshot(root: Path, eval_set_id: str) -> Path:
    folder = root / "evals" / eval_set_id
    folder.mkdir(parents=True)
    return folder / ".config.yaml"


def test_tags_come_from_each_snapshot(tmp_path: Path) -> None:
    submitted_eval_set(tmp_path, "a", ["nightly", "big"])
    submitted_eval_set(tmp_path, "b", [])
    (tmp_path / "evals" / "not-submitted").mkdir()
    (tmp_path / "evals" / "stray-file").write_text("x")
    assert eval_set_tags(StorageRoot(str(tmp_path))) == {"a": ["nightly", "big"], "b": []}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(laughs(6) + "tags: *l5\ntasks: []\n", id="tags that are an alias bomb"),
        pytest.param("tags: " + "[" * 10_000 + "\n", id="deep nesting"),
        pytest.param("tags: [a]\n---\ntags: [b]\n", id="two documents"),
    ],
)
def test_a_snapshot_that_is_not_usable_yaml_has_no_tags(tmp_path: Path, text: str) -> None:
    snapshot(tmp_path, "bad").write_text(text)
    submitted_eval_set(tmp_path, "good", ["nightly"])
    assert eval_set_tags(StorageRoot(str(tmp_path))) == {"bad": [], "good": ["nightly"]}


@pytest.mark.parametrize("spoil", ["fifo", "device", "latin-1", "huge"])
def test_a_snapshot_that_cannot_be_read_has_no_tags(tmp_path: Path, spoil: str) -> None:
    path = snapshot(tmp_path, "bad")
    if spoil == "fifo":
        os.mkfifo(path)
    elif spoil == "device":
        path.symlink_to("/dev/zero")
    elif spoil == "latin-1":
        path.write_bytes(b"tags: [caf\xe9]\n")
    else:
        path.write_text("tags: [x]\n#" + "x" * (2 << 20))
    submitted_eval_set(tmp_path, "good", ["nightly"])
    assert eval_set_tags(StorageRoot(str(tmp_path))) == {"bad": [], "good": ["nightly"]}
