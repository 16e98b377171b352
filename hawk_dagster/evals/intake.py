"""The eval-set configs folder (``<root>/configs/eval-sets/``) as the shared watcher sees it."""

from __future__ import annotations

from pathlib import Path

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import LoadedEvalSet, load_eval_set_config
from hawk_dagster.intake.watch import SubmitRefused, WatchedKind
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
    """Record the submission and its access groups (``access.stored_groups``); a model-groups file that cannot be
    used refuses the config before anything is written."""
    from hawk_dagster.access.stored_groups import current_rules, record_eval_set_groups

    try:
        rules = current_rules(storage)
    except ConfigError as e:
        raise SubmitRefused(f"the model-groups file cannot be used, so no access groups: {e}") from e
    write_submission(storage, submission)
    record_eval_set_groups(storage, submission.eval_set_id, loaded.config, rules)


EVAL_SET_CONFIGS_KIND: WatchedKind[LoadedEvalSet, None] = WatchedKind(
    label="eval-set",
    folder=EVAL_SET_CONFIGS,
    submissions=EVALS,
    load=_load_strict,
    configured_id=lambda loaded: loaded.config.eval_set_id,
    submit=_submit,
)
