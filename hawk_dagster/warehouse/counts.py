"""Sample counts per task, from the warehouse and from the logs, for the "warehouse matches logs" asset check.

Both sides use the importer's own choice of log (newest readable log per task_id), so the check compares like with
like: a mismatch means an import failed or is stale, not that the two sides counted different files.
"""

from __future__ import annotations

from inspect_ai.log import read_eval_log_sample_summaries
from sqlalchemy import Engine, func, select

from hawk_dagster.warehouse.importer import discover_logs
from hawk_dagster.warehouse.models import Eval, Sample


def warehouse_counts(engine: Engine, eval_set_id: str) -> dict[str, int]:
    """Samples stored per task_id of the eval set (tasks with an eval row but no samples count 0)."""
    stmt = (
        select(Eval.task_id, func.count(Sample.pk))
        .outerjoin(Sample, Sample.eval_pk == Eval.pk)
        .where(Eval.eval_set_id == eval_set_id)
        .group_by(Eval.task_id)
    )
    with engine.connect() as conn:
        return {task_id: count for task_id, count in conn.execute(stmt)}


def log_counts(log_dir: str) -> dict[str, int]:
    """Samples per task_id in the newest readable log of each task in ``log_dir`` (from the sample summaries)."""
    selection = discover_logs(log_dir)
    return {
        task_id: len(read_eval_log_sample_summaries(candidate.location))
        for task_id, candidate in selection.newest.items()
    }
