"""Sample counts per task, from the warehouse and from the logs, for the "warehouse matches logs" asset check.

Both sides use the importer's own choice of log (newest readable log per task_id), so the check compares like with
like: a mismatch means an import failed or is stale, not that the two sides counted different files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspect_ai.log import read_eval_log_sample_summaries
from sqlalchemy import Engine, func, select

from hawk_dagster.warehouse.ingest.importer import discover_logs
from hawk_dagster.warehouse.read.queries import visible_eval_set_ids
from hawk_dagster.warehouse.schema.models import Eval, Sample

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal


def warehouse_counts(engine: Engine, eval_set_id: str, *, viewer: Principal | None = None) -> dict[str, int]:
    """Samples stored per task_id of the eval set (tasks with an eval row but no samples count 0); nothing for an
    eval set ``viewer`` may not see."""
    stmt = (
        select(Eval.task_id, func.count(Sample.pk))
        .outerjoin(Sample, Sample.eval_pk == Eval.pk)
        .where(Eval.eval_set_id == eval_set_id)
        .group_by(Eval.task_id)
    )
    if viewer is not None:
        stmt = stmt.where(Eval.eval_set_id.in_(visible_eval_set_ids(viewer)))
    with engine.connect() as conn:
        return {task_id: count for task_id, count in conn.execute(stmt)}


def log_counts(log_dir: str) -> dict[str, int]:
    """Samples per task_id in the newest readable log of each task in ``log_dir`` (from the sample summaries)."""
    selection = discover_logs(log_dir)
    return {
        task_id: len(read_eval_log_sample_summaries(candidate.location))
        for task_id, candidate in selection.newest.items()
    }


@dataclass(frozen=True)
class CountComparison:
    samples_in_logs: int
    samples_in_warehouse: int
    mismatched: dict[str, dict[str, int]]  # task_id -> {"logs": n, "warehouse": m}, only where they differ

    @property
    def matches(self) -> bool:
        return not self.mismatched


def compare_counts(
    engine: Engine, eval_set_id: str, log_dir: str, *, viewer: Principal | None = None
) -> CountComparison:
    """Per task, the samples in the newest log against the samples in the warehouse (as ``viewer`` sees it)."""
    in_logs, in_warehouse = log_counts(log_dir), warehouse_counts(engine, eval_set_id, viewer=viewer)
    mismatched = {
        task_id: {"logs": in_logs.get(task_id, 0), "warehouse": in_warehouse.get(task_id, 0)}
        for task_id in sorted(set(in_logs) | set(in_warehouse))
        if in_logs.get(task_id, 0) != in_warehouse.get(task_id, 0)
    }
    return CountComparison(sum(in_logs.values()), sum(in_warehouse.values()), mismatched)
