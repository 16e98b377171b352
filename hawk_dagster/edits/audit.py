"""The ``sample_edit`` audit table: written after the log (the source of truth) was rewritten, read by
``hawk list edits``.

Rows are keyed on (request id, sample, type, scorer) and inserted with ``ON CONFLICT DO NOTHING``: a request run again
(after a crash between the log write and this insert) records what was missing and duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert

from hawk_dagster.warehouse.schema.models import EvalSet, SampleEdit, table_of

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal
    from hawk_dagster.edits.log_edits import AppliedEdit
    from hawk_dagster.edits.targets import LogPlan

_table = table_of(SampleEdit)

EDIT_COLUMNS = ("edited_at", "author", "eval_set_id", "sample_uuid", "sample_id", "epoch", "type", "scorer",
                "before", "after", "reason", "request_id")  # fmt: skip


def record_edits(
    engine: Engine, plan: LogPlan, applied: Sequence[AppliedEdit], *, request_id: str, author: str
) -> int:
    """Insert one row per edit of one log (one transaction); return how many rows were new."""
    rows: list[dict[str, Any]] = []
    for item in applied:
        target = plan.targets[item.edit.sample_uuid]
        rows.append(
            {
                "request_id": request_id,
                "author": author,
                "edited_at": item.edited_at,
                "sample_uuid": target.uuid,
                "eval_set_id": target.eval_set_id,
                "task_id": target.task_id,
                "sample_id": target.sample_id,
                "epoch": target.epoch,
                "location": plan.location,
                "type": item.edit.type,
                "scorer": item.edit.scorer,
                "before": item.before,
                "after": item.after,
                "reason": item.edit.reason,
            }
        )
    if not rows:
        return 0
    stmt = insert(_table).on_conflict_do_nothing(
        index_elements=[_table.c.request_id, _table.c.sample_uuid, _table.c.type, _table.c.scorer]
    )
    with engine.begin() as conn:
        result = conn.execute(stmt.returning(_table.c.pk), rows)
        return len(result.all())


def list_edits(
    engine: Engine,
    *,
    eval_set_id: str | None = None,
    sample_uuid: str | None = None,
    viewer: Principal | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Edits, newest first, of one eval set or one sample (``viewer``: only eval sets they may view)."""
    query = select(*(_table.c[name] for name in EDIT_COLUMNS)).order_by(
        _table.c.edited_at.desc(), _table.c.sample_uuid, _table.c.type, _table.c.scorer
    )
    if eval_set_id is not None:
        query = query.where(_table.c.eval_set_id == eval_set_id)
    if sample_uuid is not None:
        query = query.where(_table.c.sample_uuid == sample_uuid)
    if viewer is not None:
        from hawk_dagster.warehouse.read.queries import visible_eval_set_ids

        query = query.where(_table.c.eval_set_id.in_(visible_eval_set_ids(viewer)))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query.limit(limit).offset(offset))]


def eval_set_exists(engine: Engine, eval_set_id: str, *, viewer: Principal | None = None) -> bool:
    """Whether the warehouse holds the eval set (``viewer``: and they may view it; hidden answers as absent)."""
    query = select(EvalSet.pk).where(EvalSet.eval_set_id == eval_set_id)
    if viewer is not None:
        from hawk_dagster.access.policy import visible_clause

        query = query.where(visible_clause(viewer, EvalSet.model_groups))
    with engine.connect() as conn:
        return conn.execute(query).first() is not None
