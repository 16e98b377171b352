"""An eval set's logs into the warehouse, with what its submission says about it (name, submitter, tags, metadata,
the config itself, its access groups), so ``hawk list eval-sets`` can show and search them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.evals.planning import load_submitted_eval_set
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import SubmissionNotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.config.eval_set import EvalSetConfig
    from hawk_dagster.warehouse.ingest.importer import ImportReport

logger = logging.getLogger(__name__)


def import_eval_set_logs(engine: Engine, storage: StorageRoot, eval_set_id: str) -> ImportReport:
    """Import the eval set's logs; its registry row carries the submission's facts when there is one.

    Logs are imported even when the submission is missing or no longer validates: they are data either way.
    """
    from hawk_dagster.access.stored_groups import read_stored_groups
    from hawk_dagster.warehouse.ingest.importer import import_eval_set

    log_dir = storage.eval_log_dir(eval_set_id)
    stored = read_stored_groups(storage, EVALS, eval_set_id)
    groups = list(stored.groups) if stored is not None else None  # None: a new row gets the default group
    try:
        submitted = load_submitted_eval_set(storage, eval_set_id)
    except (SubmissionNotFoundError, ConfigError) as exc:
        logger.warning("eval set %s: importing its logs without its submission: %s", eval_set_id, exc)
        report = import_eval_set(engine, log_dir, eval_set_id, model_groups=groups)
        _absorb(engine, storage, eval_set_id, None)
        return report
    config = submitted.loaded.config
    report = import_eval_set(
        engine,
        log_dir,
        eval_set_id,
        eval_set_name=config.name,
        config_snapshot=submitted.loaded.data,
        created_by=submitted.submission.created_by,
        tags=list(config.tags),
        metadata=dict(config.metadata),
        model_groups=groups,
    )
    # the groups of the config and of every model the logs show it used, beside the logs and in the warehouse
    _absorb(engine, storage, eval_set_id, config)
    return report


def _absorb(engine: Engine, storage: StorageRoot, eval_set_id: str, config: EvalSetConfig | None) -> None:
    """Add the groups of the models the logs used; an unusable model-groups file leaves the stored groups as they
    are (computed under the last good rules, or the default group: closed either way) and does not fail the
    import: the logs are data, and the refresh applies the file once it is fixed."""
    from hawk_dagster.access.stored_groups import absorb_log_models

    try:
        absorb_log_models(engine, storage, eval_set_id, config)
    except ConfigError as exc:
        logger.error(
            "eval set %s: access groups not updated, the model-groups file cannot be used: %s",
            eval_set_id,
            exc,
        )
