"""Which log each edit goes to, and whether its author may make it: the warehouse knows every sample's log.

One query for the whole request. A sample of an eval set the principal cannot view is reported exactly like an
unknown uuid (``access.policy``: a forbidden id answers like an absent one); one they can view but not edit is
refused by name. Scorers are checked against the scores the warehouse holds for the sample.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from hawk_dagster.access.policy import can_edit, can_view
from hawk_dagster.access.principal import Principal
from hawk_dagster.edits.request import Edit, EditRequest, RequestError
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample, Score

MAX_NAMED = 10
"""How many unknown uuids a message lists before "and N more"."""


class EditForbiddenError(PermissionError):
    """The principal may view these eval sets but not edit them."""


@dataclass(frozen=True)
class SampleTarget:
    uuid: str
    sample_id: str
    epoch: int
    eval_set_id: str
    task_id: str
    location: str
    scorers: frozenset[str]


@dataclass
class LogPlan:
    """The edits of one log, in request order."""

    location: str
    eval_set_id: str
    task_id: str
    edits: list[Edit] = field(default_factory=list)
    targets: dict[str, SampleTarget] = field(default_factory=dict)


@dataclass(frozen=True)
class EditPlan:
    request: EditRequest
    logs: tuple[LogPlan, ...]

    @property
    def eval_set_ids(self) -> list[str]:
        return sorted({log.eval_set_id for log in self.logs})


def plan_edits(engine: Engine, request: EditRequest, principal: Principal) -> EditPlan:
    """Look every edit's sample up and group the edits by log; raise :class:`RequestError` naming unknown uuids and
    scorers, :class:`EditForbiddenError` for eval sets the principal may view but not edit. Reads only."""
    uuids = sorted({edit.sample_uuid for edit in request.edits})
    scorers = (
        select(func.array_agg(func.distinct(Score.scorer)))
        .where(Score.sample_pk == Sample.pk)
        .scalar_subquery()
    )
    query = (
        select(
            Sample.uuid,
            Sample.id,
            Sample.epoch,
            Eval.eval_set_id,
            Eval.task_id,
            Eval.location,
            EvalSet.model_groups,
            scorers.label("scorers"),
        )
        .join(Eval, Eval.pk == Sample.eval_pk)
        .join(EvalSet, EvalSet.eval_set_id == Eval.eval_set_id)
        .where(Sample.uuid == func.any(bindparam("uuids", uuids, type_=ARRAY(Text))))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    found: dict[str, SampleTarget] = {}
    forbidden: set[str] = set()
    for row in rows:
        if not can_view(principal, row.model_groups):
            continue  # answers like an unknown uuid
        if not can_edit(principal, row.model_groups):
            forbidden.add(row.eval_set_id)
            continue
        found[row.uuid] = SampleTarget(
            uuid=row.uuid,
            sample_id=row.id,
            epoch=row.epoch,
            eval_set_id=row.eval_set_id,
            task_id=row.task_id,
            location=row.location,
            scorers=frozenset(row.scorers or ()),
        )
    problems: list[str] = []
    unknown = [
        edit for edit in request.edits if edit.sample_uuid not in found and not _in(forbidden, edit, rows)
    ]
    if unknown:
        named = ", ".join(f"{e.sample_uuid!r} ({e.where})" for e in unknown[:MAX_NAMED])
        more = f" and {len(unknown) - MAX_NAMED} more" if len(unknown) > MAX_NAMED else ""
        problems.append(f"no sample with uuid {named}{more} in the warehouse (see `hawk list samples`)")
    for edit in request.edits:
        target = found.get(edit.sample_uuid)
        if target is not None and edit.type == "score_edit" and edit.scorer not in target.scorers:
            have = ", ".join(sorted(target.scorers)) or "none"
            problems.append(
                f"{edit.where}: sample {edit.sample_uuid!r} has no scorer {edit.scorer!r}; its scorers: {have}"
            )
    if problems:
        shown = problems[: MAX_NAMED + 1]
        more = f"\n... and {len(problems) - len(shown)} more problems" if len(problems) > len(shown) else ""
        raise RequestError("\n".join(shown) + more)
    if forbidden:
        raise EditForbiddenError(
            f"you may view but not edit eval set{'s' if len(forbidden) > 1 else ''} {', '.join(sorted(forbidden))} "
            "(editing needs the edit permission); nothing was changed"
        )
    logs: dict[str, LogPlan] = {}
    grouped: defaultdict[str, list[Edit]] = defaultdict(list)
    for edit in request.edits:
        target = found[edit.sample_uuid]
        plan = logs.setdefault(target.location, LogPlan(target.location, target.eval_set_id, target.task_id))
        plan.targets[target.uuid] = target
        grouped[target.location].append(edit)
    for location, edits in grouped.items():
        logs[location].edits = edits
    return EditPlan(request, tuple(logs.values()))


def _in(forbidden: set[str], edit: Edit, rows: Sequence[Any]) -> bool:
    """Whether the edit's sample belongs to an eval set refused as view-only (reported as such, not as unknown)."""
    return any(
        getattr(r, "uuid", None) == edit.sample_uuid and getattr(r, "eval_set_id", None) in forbidden
        for r in rows
    )
