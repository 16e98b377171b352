"""The eval-set configs folder (``<root>/configs/eval-sets/``) as the shared watcher sees it."""

from __future__ import annotations

from pathlib import Path

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.loader import LoadedEvalSet, load_eval_set_config
from hawk_dagster.intake.watch import WatchedKind
from hawk_dagster.storage.root import EVAL_SET_CONFIGS, EVALS, StorageRoot
from hawk_dagster.storage.submissions import Submission, write_submission


def _load_strict(
    source: str, text: str, base_dir: Path | None, carried: CarriedResolver | None = None
) -> LoadedEvalSet:
    """A dropped config is loaded strictly: nobody is there to confirm unknown top-level keys, so each one the
    file does not confirm with ``# hawk-pass-through:`` refuses it (``hawk eval-set`` asks, then writes that line).
    Its submission is read back later with the ordinary loader, which only warns."""
    return load_eval_set_config(source, text=text, base_dir=base_dir, carried=carried, strict=True)


def _submit(storage: StorageRoot, loaded: LoadedEvalSet, submission: Submission) -> None:
    write_submission(storage, submission)


EVAL_SET_CONFIGS_KIND: WatchedKind[LoadedEvalSet, None] = WatchedKind(
    label="eval-set",
    folder=EVAL_SET_CONFIGS,
    submissions=EVALS,
    load=_load_strict,
    configured_id=lambda loaded: loaded.config.eval_set_id,
    submit=_submit,
)
