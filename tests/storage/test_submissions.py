"""Submissions: written beside their results, read back and validated by one loader, once per config version."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import (
    Submission,
    SubmissionNotFoundError,
    load_submitted,
    read_submission,
    write_submission,
)


def test_load_submitted_validates_each_version_once_with_a_memo(tmp_path: Path) -> None:
    storage = StorageRoot(str(tmp_path))
    calls: list[str] = []

    def load(source: str, text: str, base_dir: Path | None, carried: CarriedResolver | None) -> str:
        calls.append(text)
        return text.upper()

    write_submission(storage, Submission.new("es", "a: 1\n", source="grid.yaml", base_dir=str(tmp_path)))
    memo: dict[tuple[str, ...], str] = {}
    first = load_submitted(storage, "es", EVALS, load, memo)
    again = load_submitted(storage, "es", EVALS, load, memo)
    assert first.loaded == again.loaded == "A: 1\n" and calls == ["a: 1\n"]
    assert first.submission.source == "grid.yaml" and first.submission.base_dir == str(tmp_path)

    write_submission(storage, Submission.new("es", "a: 2\n", source="grid.yaml", base_dir=str(tmp_path)))
    assert load_submitted(storage, "es", EVALS, load, memo).loaded == "A: 2\n"
    load_submitted(storage, "es", EVALS, load)  # without a memo: validated every time
    assert calls == ["a: 1\n", "a: 2\n", "a: 2\n"]


def test_an_eval_set_never_submitted_says_how_to_submit_it(tmp_path: Path) -> None:
    with pytest.raises(SubmissionNotFoundError, match="hawk local eval-set"):
        load_submitted(StorageRoot(str(tmp_path)), "nope", EVALS, lambda *_: None)


@pytest.fixture
def submitted(tmp_path: Path) -> tuple[StorageRoot, Path]:
    storage = StorageRoot(str(tmp_path))
    write_submission(storage, Submission.new("es", "a: 1\n", source="grid.yaml", base_dir=None))
    return storage, tmp_path / "evals" / "es"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("spoil", "found"),
    [
        pytest.param(lambda p: p.write_bytes(b"#" * (2 << 20)), "a file of more than 1 MiB", id="huge"),
        pytest.param(lambda p: p.write_bytes(b"a: caf\xe9\n"), "not UTF-8", id="latin-1"),
        pytest.param(lambda p: (p.unlink(), os.mkfifo(p)), "a named pipe (FIFO)", id="fifo"),
        pytest.param(lambda p: (p.unlink(), p.symlink_to("/dev/zero")), "a character device", id="device"),
        pytest.param(lambda p: (p.unlink(), p.mkdir()), "a directory", id="directory"),
    ],
)
def test_a_snapshot_that_cannot_be_used_is_a_config_error(
    submitted: tuple[StorageRoot, Path], spoil: Callable[[Path], object], found: str
) -> None:
    """The storage root is shared: a snapshot is read within the limits, and a bad one is an error callers handle."""
    storage, folder = submitted
    spoil(folder / ".config.yaml")
    with pytest.raises(ConfigError) as caught:
        read_submission(storage, "es")
    [issue] = caught.value.issues
    assert issue.file.endswith(".config.yaml") and found in issue.found


@pytest.mark.parametrize(
    "record",
    [b"not json", b"[1, 2]", b"[" * 100_000, b"\xff\xfe", b"{" + b" " * (2 << 20) + b"}"],
    ids=["not json", "a list", "deep", "not utf-8", "huge"],
)
def test_a_record_that_cannot_be_used_is_a_config_error(
    submitted: tuple[StorageRoot, Path], record: bytes
) -> None:
    storage, folder = submitted
    (folder / ".submission.json").write_bytes(record)
    with pytest.raises(ConfigError) as caught:
        read_submission(storage, "es")
    assert caught.value.issues[0].file.endswith(".submission.json")


def test_a_missing_record_is_an_old_submission(submitted: tuple[StorageRoot, Path]) -> None:
    storage, folder = submitted
    (folder / ".submission.json").unlink()
    assert read_submission(storage, "es").created_by == "unknown"
