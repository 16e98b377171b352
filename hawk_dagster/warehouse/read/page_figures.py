"""Figures the results pages show beside the shared listings of ``queries``: per eval set errors and progress, a
score histogram of a sample filter (an SQL aggregate: one row per bin, never the samples), and everything about one
sample. Same rules as ``queries``: every reader takes ``viewer`` and filters in SQL; hidden answers as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Float, case, cast, func, select, true
from sqlalchemy import inspect as sa_inspect

from hawk_dagster.warehouse.read.queries import (
    SampleFilter,
    UnknownIdError,
    _sample_filters,
    _visible_evals,
    visible_eval_set_ids,
)
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample, Score

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal

RUNNING_STATUS = "started"
"""An eval whose newest log is still being written (Inspect's ``started``; the importer takes it as partial)."""


@dataclass(frozen=True)
class EvalSetProgress:
    errors: int
    running: bool
    completed: int
    """Samples done, as the logs' headers count them (imported partial logs included)."""
    planned: int | None
    """Samples the evals will run (None when a log does not say yet)."""


def eval_set_progress(
    engine: Engine, eval_set_ids: Sequence[str], *, viewer: Principal | None = None
) -> dict[str, EvalSetProgress]:
    """Errored samples and run progress of the given eval sets (of those ``viewer`` may see), by id."""
    if not eval_set_ids:
        return {}
    errors = (
        select(Sample.eval_pk, func.count().label("errors"))
        .where(
            Sample.status == "error",
            Sample.eval_pk.in_(select(Eval.pk).where(Eval.eval_set_id.in_(eval_set_ids))),
        )
        .group_by(Sample.eval_pk)
        .subquery()
    )
    query = (
        select(
            Eval.eval_set_id,
            func.coalesce(func.sum(errors.c.errors), 0).label("errors"),
            func.bool_or(Eval.status == RUNNING_STATUS).label("running"),
            func.coalesce(func.sum(Eval.completed_samples), 0).label("completed"),
            case((func.bool_and(Eval.total_samples.is_not(None)), func.sum(Eval.total_samples))).label(
                "planned"
            ),
        )
        .outerjoin(errors, errors.c.eval_pk == Eval.pk)
        .where(Eval.eval_set_id.in_(list(eval_set_ids)))
        .group_by(Eval.eval_set_id)
    )
    if viewer is not None:
        query = query.where(Eval.eval_set_id.in_(visible_eval_set_ids(viewer)))
    with engine.connect() as conn:
        return {
            row.eval_set_id: EvalSetProgress(
                errors=int(row.errors),
                running=bool(row.running),
                completed=int(row.completed),
                planned=None if row.planned is None else int(row.planned),
            )
            for row in conn.execute(query)
        }


@dataclass(frozen=True)
class ScoreHistogram:
    bins: list[tuple[float, float, int]]
    """(low, high, count) per bin: values in [low, high), the last bin closed."""
    scored: int
    """Matching samples with a numeric score (the rest have none: errors, non-numeric values)."""
    minimum: float | None
    maximum: float | None


def score_histogram(
    engine: Engine, f: SampleFilter, *, bins: int = 20, viewer: Principal | None = None
) -> ScoreHistogram:
    """The scores of the samples ``f`` selects (paging ignored), counted in ``bins`` equal bins between their
    minimum and maximum, in one aggregate statement (range, then ``width_bucket`` counts, over one scan of the
    matches). A single distinct value is one bin."""
    chosen, score, conditions = _sample_filters(f, viewer)
    base = select(Sample.pk).select_from(Sample)
    if f.eval_set_ids or f.task or f.model:
        base = base.join(Eval, Eval.pk == Sample.eval_pk)
    if chosen is not None:
        base = base.outerjoin(chosen, true())
    values = (
        base.with_only_columns(cast(score, Float).label("v"))
        .where(*conditions, score.is_not(None))
        .cte("score_values")
    )
    extent = select(
        func.min(values.c.v).label("low"), func.max(values.c.v).label("high"), func.count().label("n")
    ).cte("score_extent")
    # width_bucket puts the maximum in bucket bins+1: folded into the last bin; one distinct value is one bin
    bucket = case(
        (
            extent.c.high > extent.c.low,
            func.least(func.width_bucket(values.c.v, extent.c.low, extent.c.high, bins), bins),
        ),
        else_=1,
    ).label("b")
    query = (
        select(extent.c.low, extent.c.high, extent.c.n, bucket, func.count())
        .select_from(values.join(extent, true()))
        .group_by(extent.c.low, extent.c.high, extent.c.n, bucket)
    )
    with engine.connect() as conn:  # one statement, one pass over the matches (the CTE is read twice)
        rows = conn.execute(query).all()
    if not rows:
        return ScoreHistogram(bins=[], scored=0, minimum=None, maximum=None)
    low, high, scored = float(rows[0][0]), float(rows[0][1]), int(rows[0][2])
    counts = {int(row[3]): int(row[4]) for row in rows}
    if high == low:
        return ScoreHistogram(bins=[(low, high, scored)], scored=scored, minimum=low, maximum=high)
    width = (high - low) / bins
    return ScoreHistogram(
        bins=[(low + i * width, low + (i + 1) * width, counts.get(i + 1, 0)) for i in range(bins)],
        scored=scored,
        minimum=low,
        maximum=high,
    )


SAMPLE_FIELDS = tuple(a.key for a in sa_inspect(Sample).column_attrs if a.key != "search_text")
"""Every column of a sample the page shows (all but the search document, which repeats the transcript)."""


def sample_detail(engine: Engine, uuid: str, *, viewer: Principal | None = None) -> dict[str, Any]:
    """One sample with its eval's facts and its scores (headline first); its edits are ``edits.audit.list_edits``."""
    query = (
        select(
            *(getattr(Sample, key).label(key) for key in SAMPLE_FIELDS),
            Eval.eval_set_id,
            Eval.task_name,
            Eval.task_id,
            Eval.model,
            Eval.location,
            Eval.status.label("eval_status"),
            EvalSet.model_groups,
            Eval.message_limit.label("eval_message_limit"),
            Eval.token_limit.label("eval_token_limit"),
            Eval.time_limit_seconds.label("eval_time_limit"),
            Eval.working_limit_seconds.label("eval_working_limit"),
        )
        .join(Eval, Eval.pk == Sample.eval_pk)
        .join(EvalSet, EvalSet.eval_set_id == Eval.eval_set_id)
        .where(Sample.uuid == uuid, EvalSet.deleted_at.is_(None), *_visible_evals(viewer))
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
        if row is None:  # absent or not visible: one answer
            raise UnknownIdError(f"no sample with uuid {uuid!r} in the warehouse")
        mapping = row._mapping
        scores = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    Score.scorer,
                    Score.key,
                    Score.value,
                    Score.value_float,
                    Score.answer,
                    Score.explanation,
                    Score.is_headline,
                    Score.scored_at,
                    Score.meta,
                )
                .where(Score.sample_pk == mapping["pk"])
                .order_by(Score.is_headline.desc(), Score.scorer, Score.key)
            )
        ]
    return {
        **{key: mapping[key] for key in SAMPLE_FIELDS},
        "eval_set_id": mapping["eval_set_id"],
        "task": mapping["task_name"],
        "task_id": mapping["task_id"],
        "model": mapping["model"],
        "location": mapping["location"],
        "eval_status": mapping["eval_status"],
        "model_groups": list(mapping["model_groups"]),
        "eval_limits": {
            "messages": mapping["eval_message_limit"],
            "tokens": mapping["eval_token_limit"],
            "time (s)": mapping["eval_time_limit"],
            "working time (s)": mapping["eval_working_limit"],
        },
        "scores": scores,
    }


def eval_set_choices(
    engine: Engine, *, limit: int = 200, viewer: Principal | None = None
) -> list[dict[str, Any]]:
    """The newest eval sets ``viewer`` may see (id and name), for a filter's choices: no counts, so it stays cheap
    on a large warehouse."""
    query = select(EvalSet.eval_set_id, EvalSet.name).where(EvalSet.deleted_at.is_(None))
    if viewer is not None:
        query = query.where(EvalSet.eval_set_id.in_(visible_eval_set_ids(viewer)))
    query = query.order_by(EvalSet.created_at.desc(), EvalSet.eval_set_id).limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def task_and_model_choices(
    engine: Engine, eval_set_ids: Sequence[str] = (), *, viewer: Principal | None = None
) -> tuple[list[str], list[str]]:
    """The distinct task names and models of the evals of ``eval_set_ids`` (all, when empty) that ``viewer`` may
    see: read from ``eval`` alone (one row per task and model, not per sample)."""
    query = select(Eval.task_name, Eval.model).distinct()
    if eval_set_ids:
        query = query.where(Eval.eval_set_id.in_(list(eval_set_ids)))
    if viewer is not None:
        query = query.where(Eval.eval_set_id.in_(visible_eval_set_ids(viewer)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return sorted({r.task_name for r in rows}), sorted({r.model for r in rows})


__all__ = [
    "EvalSetProgress",
    "ScoreHistogram",
    "eval_set_choices",
    "eval_set_progress",
    "sample_detail",
    "score_histogram",
    "task_and_model_choices",
]
