"""An eval set's logs into the warehouse, with what its submission says about it (name, submitter, tags, metadata,
the config itself), so ``hawk list eval-sets`` can show and search them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.evals.planning import load_submitted_eval_set
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import SubmissionNotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.warehouse.ingest.importer import ImportReport

logger = logging.getLogger(__name__)


def import_eval_set_logs(engine: Engine, storage: StorageRoot, eval_set_id: str) -> ImportReport:
    """Import the eval set's logs; its registry row carries the submission's facts when there is one.

    Logs are imported even when the submission is missing or no longer validates: they are data either way.
    """
    from hawk_dagster.warehouse.ingest.importer import import_eval_set

    log_dir = storage.eval_log_dir(eval_set_id)
    try:
        submitted = load_submitted_eval_set(storage, eval_set_id)
    except (SubmissionNotFoundError, ConfigError) as exc:
        logger.warning("eval set %s: importing its logs without its submission: %s", eval_set_id, exc)
        return import_eval_set(engine, log_dir, eval_set_id)
    config = submitted.loaded.config
    return import_eval_set(
        engine,
        log_dir,
        eval_set_id,
        eval_set_name=config.name,
        config_snapshot=submitted.loaded.data,
        created_by=submitted.submission.created_by,
        tags=list(config.tags),
        metadata=dict(config.metadata),
    )
