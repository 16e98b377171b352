"""The eval-set configs folder (``<root>/configs/eval-sets/``) as the shared watcher sees it."""

from __future__ import annotations

from hawk_dagster.config.loader import LoadedEvalSet
from hawk_dagster.evals.planning import load_eval_set
from hawk_dagster.intake.watch import WatchedKind
from hawk_dagster.storage.root import EVAL_SET_CONFIGS, EVALS, StorageRoot
from hawk_dagster.storage.submissions import Submission, write_submission


def _submit(storage: StorageRoot, loaded: LoadedEvalSet, submission: Submission) -> None:
    write_submission(storage, submission)


EVAL_SET_CONFIGS_KIND: WatchedKind[LoadedEvalSet, None] = WatchedKind(
    label="eval-set",
    folder=EVAL_SET_CONFIGS,
    submissions=EVALS,
    load=load_eval_set,
    configured_id=lambda loaded: loaded.config.eval_set_id,
    submit=_submit,
)
