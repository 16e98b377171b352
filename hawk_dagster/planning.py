"""From a submitted eval set to the runner's plan: load the snapshot, validate it again, expand the grid.

Validation runs again at execution time on purpose: the platform may have been upgraded since submission, and a
plan must never be built from a config the current code would refuse.
"""

from __future__ import annotations

from pathlib import Path

from hawk_runner.plan import RunPlan

from hawk_dagster.config import LoadedEvalSet, load_eval_set_config
from hawk_dagster.config.grid import build_run_plan
from hawk_dagster.storage import StorageRoot
from hawk_dagster.submission import Submission, read_submission


def load_submitted_config(submission: Submission) -> LoadedEvalSet:
    base_dir = Path(submission.base_dir) if submission.base_dir else None
    return load_eval_set_config(submission.source, text=submission.config_text, base_dir=base_dir)


def plan_for_eval_set(storage: StorageRoot, eval_set_id: str) -> tuple[Submission, RunPlan]:
    submission = read_submission(storage, eval_set_id)
    loaded = load_submitted_config(submission)
    plan = build_run_plan(loaded, eval_set_id=eval_set_id, log_dir=storage.eval_log_dir(eval_set_id))
    return submission, plan
