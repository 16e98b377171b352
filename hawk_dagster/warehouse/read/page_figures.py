"""Figures the results pages show beside the shared listings of ``queries``: per eval set errors and progress, a
score histogram of a sample filter (an SQL aggregate: one row per bin, never the samples), and everything about one
sample. Same rules as ``queries``: every reader takes ``viewer`` and filters in SQL; hidden answers as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import CTE, Engine, Float, and_, case, cast, func, select, true
from sqlalchemy import inspect as sa_inspect

from hawk_dagster.warehouse.read.queries import (
    Page,
    SampleFilter,
    UnknownIdError,
    sample_conditions,
    sample_order,
    sample_select,
    selected_evals,
    visible_eval_conditions,
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
    total: int
    """Every sample the filter matches (the listing's total)."""
    scored: int
    """Those with a numeric score (the rest have none: errors, non-numeric values)."""
    bins: list[tuple[float, float, int]]
    """(low, high, count) per bin: values in [low, high), the last bin closed."""
    minimum: float | None
    maximum: float | None


def score_histogram(
    engine: Engine, f: SampleFilter, *, bins: int = 20, viewer: Principal | None = None
) -> ScoreHistogram:
    """The samples ``f`` selects (paging ignored): how many, and their scores counted in ``bins`` equal bins between
    their minimum and maximum, in one aggregate statement over one scan of the matches (the range, then
    ``width_bucket`` counts). A single distinct value is one bin.

    The total is :func:`queries.list_samples`'s (the same conditions)."""
    chosen, score, conditions = sample_conditions(f, viewer)
    base = select(Sample.pk).select_from(Sample)
    if f.reads_eval:
        base = base.join(Eval, Eval.pk == Sample.eval_pk)
    if chosen is not None:
        base = base.outerjoin(chosen, true())
    values = base.with_only_columns(cast(score, Float).label("v")).where(*conditions).cte("score_values")
    histogram, _ = _summarise(engine, values, bins, page=None)
    return histogram


def page_and_histogram(
    engine: Engine, f: SampleFilter, *, bins: int = 20, viewer: Principal | None = None
) -> tuple[Page, ScoreHistogram]:
    """:func:`queries.list_samples`'s page and :func:`score_histogram` in one scan of the matches: each match is
    numbered in the listing's order (a window over the matches), one aggregate gives the total, the histogram and
    the pks of ``f``'s page, and the page's rows are then read by pk. For filters whose matches an index bounds
    (a text search): with a million matches the numbering would sort them all, where the listing reads one page of
    an index."""
    query, columns = sample_select(f, viewer)
    order = sample_order(f, columns)
    values = query.with_only_columns(
        Sample.pk.label("pk"),
        cast(columns["score"], Float).label("v"),
        func.row_number().over(order_by=order).label("rn"),
    ).cte("score_values")
    histogram, pks = _summarise(engine, values, bins, page=(f.offset, f.limit))
    rows: list[dict[str, Any]] = []
    if pks:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query.where(Sample.pk.in_(pks)).order_by(*order))]
    return Page(rows=rows, total=histogram.total, limit=f.limit, offset=f.offset), histogram


def _summarise(
    engine: Engine, values: CTE, bins: int, *, page: tuple[int, int] | None
) -> tuple[ScoreHistogram, list[Any]]:
    """The histogram of ``values`` (a CTE of the matches' scores ``v``; with ``page`` = (offset, limit), also their
    pks ``pk`` numbered ``rn``) and the pks of that page."""
    aggregates = [
        func.min(values.c.v).label("low"),
        func.max(values.c.v).label("high"),
        func.count(values.c.v).label("scored"),
        func.count().label("total"),
    ]
    if page is not None:
        offset, limit = page
        in_page = and_(values.c.rn > offset, values.c.rn <= offset + limit)
        aggregates.append(func.array_agg(values.c.pk).filter(in_page).label("page"))
    extent = select(*aggregates).cte("score_extent")
    # width_bucket puts the maximum in bucket bins+1: folded into the last bin; one distinct value is one bin
    bucket = case(
        (values.c.v.is_(None), None),
        (
            extent.c.high > extent.c.low,
            func.least(func.width_bucket(values.c.v, extent.c.low, extent.c.high, bins), bins),
        ),
        else_=1,
    ).label("b")
    group = [extent.c.low, extent.c.high, extent.c.scored, extent.c.total]
    if page is not None:
        group.append(extent.c.page)
    query = (
        select(*group, bucket, func.count(values.c.v))
        .select_from(extent.outerjoin(values, true()))  # one row even when nothing matches
        .group_by(*group, bucket)
    )
    with engine.connect() as conn:  # one statement: the matches are scanned once (the CTE is read twice)
        rows = conn.execute(query).all()
    low, high, scored, total = rows[0][:4]
    pks = list(rows[0][4] or []) if page is not None else []
    if not scored:
        return ScoreHistogram(total=int(total), scored=0, bins=[], minimum=None, maximum=None), pks
    low, high = float(low), float(high)
    b = len(group)  # each row: the group's columns, then the bucket and its count
    counts = {int(row[b]): int(row[b + 1]) for row in rows if row[b] is not None}
    if high == low:
        edges = [(low, high, int(scored))]
    else:
        width = (high - low) / bins
        edges = [(low + i * width, low + (i + 1) * width, counts.get(i + 1, 0)) for i in range(bins)]
    return ScoreHistogram(total=int(total), scored=int(scored), bins=edges, minimum=low, maximum=high), pks


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
        .where(Sample.uuid == uuid, EvalSet.deleted_at.is_(None), *visible_eval_conditions(viewer))
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


SCORER_PEEK = 20
"""Samples per eval whose scorers make the scorer suggestions."""


def scorer_suggestions(engine: Engine, f: SampleFilter, *, viewer: Principal | None = None) -> list[str]:
    """Scorer names (``name`` or ``name:key``) to suggest for ``f``'s eval sets, task and model: those of the first
    :data:`SCORER_PEEK` samples of each selected eval (an eval's samples share its scorers), so it costs a few index
    look-ups per eval where ``queries.scorer_labels`` reads every score. Only suggestions: a scorer typed in is
    checked by ``queries.require_scorer``, which names them all."""
    peek = (
        select(Sample.pk).where(Sample.eval_pk == Eval.pk).limit(SCORER_PEEK).correlate(Eval).lateral("peek")
    )
    evals = select(Eval.pk).where(Eval.pk.in_(selected_evals(f, viewer)))
    chosen = evals.subquery()
    query = (
        select(Score.scorer, Score.key)
        .distinct()
        .select_from(Eval)
        .join(peek, true())
        .join(Score, Score.sample_pk == peek.c.pk)
        .where(Eval.pk.in_(select(chosen.c.pk)))
        .order_by(Score.scorer, Score.key)
    )
    with engine.connect() as conn:
        return [f"{name}:{key}" if key else name for name, key in conn.execute(query)]


__all__ = [
    "EvalSetProgress",
    "ScoreHistogram",
    "eval_set_choices",
    "eval_set_progress",
    "page_and_histogram",
    "sample_detail",
    "score_histogram",
    "scorer_suggestions",
    "task_and_model_choices",
]
