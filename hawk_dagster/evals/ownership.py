"""Who submitted an eval set and which model groups it requires, wherever that is known: the warehouse row, else
(not imported yet) its submission and the groups stored beside its logs.

One answer for every act on an eval set as a whole (its status, its logs, deleting it), so they cannot disagree on
who may see it; ``access.policy`` decides with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class Ownership:
    created_by: str | None
    groups: tuple[str, ...]
    """The model groups it requires (empty: unknown, which only an administrator passes)."""
    in_warehouse: bool
    deleted_at: str | None
    """When ``hawk delete`` hid it (ISO time), if it did."""
    submitted: bool
    """Whether its submission is under the storage root (a warehouse row implies one was)."""


def eval_set_ownership(storage: StorageRoot, engine: Engine | None, eval_set_id: str) -> Ownership:
    row = _warehouse_row(engine, eval_set_id) if engine is not None else None
    if row is not None:
        created_by, groups, deleted_at = row
        return Ownership(created_by, tuple(groups), True, deleted_at, True)
    return _from_storage(storage, eval_set_id)


def _warehouse_row(engine: Engine, eval_set_id: str) -> tuple[str | None, list[str], str | None] | None:
    from sqlalchemy import select

    from hawk_dagster.warehouse.schema.models import EvalSet

    query = select(EvalSet.created_by, EvalSet.model_groups, EvalSet.deleted_at).where(
        EvalSet.eval_set_id == eval_set_id
    )
    with engine.connect() as conn:
        found = conn.execute(query).first()
    if found is None:
        return None
    return found[0], list(found[1]), found[2].isoformat() if found[2] is not None else None


def _from_storage(storage: StorageRoot, eval_set_id: str) -> Ownership:
    """Submitter and groups of an eval set the warehouse has not imported yet: from its submission and the groups
    stored beside its logs."""
    from hawk_dagster.access.stored_groups import current_rules, eval_set_groups_of
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.storage.submissions import SubmissionNotFoundError, read_submission

    try:
        created_by: str | None = read_submission(storage, eval_set_id).created_by
        submitted = True
    except (SubmissionNotFoundError, ConfigError):
        created_by, submitted = None, False
    try:
        groups = tuple(
            eval_set_groups_of(storage, [eval_set_id], current_rules(storage)).get(eval_set_id, ())
        )
    except Exception:  # an unusable model-groups file: only an administrator may go on (no groups: closed)
        groups = ()
    return Ownership(created_by, groups, False, None, submitted)
