"""Submissions: written beside their results, read back and validated by one loader, once per config version."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import (
    Submission,
    SubmissionNotFoundError,
    load_submitted,
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
