"""The warehouse's read queries, in one place: the CLI uses them now, the results page will use the same ones.

Every value a user gives (search text, ids, score bounds) travels as a bound parameter; sort columns come from a
fixed whitelist. Free-text search is one trigram-indexed, case-insensitive ``LIKE`` on ``sample.search_text``, which
holds the sample's text and its whole transcript in lower case (see ``warehouse.schema.search``).

Every function takes ``viewer``: ``None`` is the local, unrestricted CLI; a
:class:`~hawk_dagster.access.principal.Principal` sees only eval sets and scans whose access groups it holds
(``access.policy.visible_clause``, one rule), filtered in SQL so pages, counts, totals and exports never include the
rest, and an id it may not see raises :class:`UnknownIdError` with the very message an absent id gets.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import psycopg
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    Numeric,
    Select,
    Text,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import LateralFromClause, ScalarSelect

from hawk_dagster.access.policy import visible_clause
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample, Scan, ScannerResult, ScanSource, Score
from hawk_dagster.warehouse.schema.search import search_key

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal

Column = ColumnElement[Any] | InstrumentedAttribute[Any]
"""A column to select, filter or sort on: a model's attribute or a derived expression."""
AnySelect = Select[*tuple[Any, ...]]
"""A SELECT of any columns (SQLAlchemy types selects by their column types)."""


class UnknownIdError(LookupError):
    """An eval set or sample id that the warehouse does not hold."""


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


# ------------------------------------------------------------------------------------------------------- access


def visible_eval_set_ids(viewer: Principal) -> Select[str]:
    """The ids of the eval sets ``viewer`` may see (one scan of ``eval_set``, the one access rule)."""
    return select(EvalSet.eval_set_id).where(visible_clause(viewer, EvalSet.model_groups))


def visible_eval_conditions(viewer: Principal | None) -> list[ColumnElement[bool]]:
    """Conditions keeping the samples of eval sets ``viewer`` may see (none for the unrestricted CLI).

    On ``sample.eval_pk``, so a count that reads no eval column needs no join. Written ``(... IN (...)) IS TRUE`` so
    that PostgreSQL keeps it a filter through a hashed subplan (as ``_not_deleted``) instead of pulling it up into a
    semi-join: as a join it drove the plan from the visible evals, one index probe of the search index per eval (on
    1,000,000 samples in 100 evals, the combined filter's page and count took 170 ms each instead of 45 and 11 ms).
    As a filter the viewer's query costs what the unrestricted query costs. ``IS TRUE`` keeps it closed: NULL is out.
    """
    if viewer is None or viewer.is_admin:  # an administrator sees every eval set: no condition to plan or run
        return []
    visible = select(Eval.pk).where(Eval.eval_set_id.in_(visible_eval_set_ids(viewer)))
    return [Sample.eval_pk.in_(visible).is_(true())]


def _not_deleted() -> ColumnElement[bool]:
    """Samples of eval sets ``hawk delete`` has not hidden: a hashed anti-join on the (few) deleted ones' evals."""
    deleted = (
        select(Eval.pk)
        .join(EvalSet, EvalSet.eval_set_id == Eval.eval_set_id)
        .where(EvalSet.deleted_at.is_not(None))
    )
    return Sample.eval_pk.not_in(deleted)


# ---------------------------------------------------------------------------------------------------- eval sets


def list_eval_sets(
    engine: Engine,
    *,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    viewer: Principal | None = None,
    include_deleted: bool = False,
) -> Page:
    """Eval sets, newest first, with tags and task / model / sample counts; ``search`` matches id, name, submitter
    or a tag. Deleted ones (``hawk delete``) only with ``include_deleted``, and then with who deleted them when."""
    evals = (
        select(
            Eval.eval_set_id.label("eval_set_id"),
            func.count(distinct(Eval.task_name)).label("tasks"),
            func.count(distinct(Eval.model)).label("models"),
        )
        .group_by(Eval.eval_set_id)
        .subquery()
    )
    # counted per eval first: an index-only scan of (eval_pk, status), 9x faster on a million samples than grouping
    # the join by eval set, which reads every sample row
    per_eval = select(Sample.eval_pk, func.count().label("n")).group_by(Sample.eval_pk).subquery()
    samples = (
        select(
            Eval.eval_set_id.label("eval_set_id"), cast(func.sum(per_eval.c.n), BigInteger).label("samples")
        )
        .join(per_eval, per_eval.c.eval_pk == Eval.pk)
        .group_by(Eval.eval_set_id)
        .subquery()
    )
    query = (
        select(
            EvalSet.eval_set_id,
            EvalSet.name,
            EvalSet.created_by,
            EvalSet.created_at,
            EvalSet.tags,
            func.coalesce(evals.c.tasks, 0).label("tasks"),
            func.coalesce(evals.c.models, 0).label("models"),
            func.coalesce(samples.c.samples, 0).label("samples"),
            *((EvalSet.deleted_at, EvalSet.deleted_by) if include_deleted else ()),
        )
        .outerjoin(evals, evals.c.eval_set_id == EvalSet.eval_set_id)
        .outerjoin(samples, samples.c.eval_set_id == EvalSet.eval_set_id)
    )
    if viewer is not None:
        query = query.where(visible_clause(viewer, EvalSet.model_groups))
    if not include_deleted:
        query = query.where(EvalSet.deleted_at.is_(None))
    if search:
        tag = func.unnest(EvalSet.tags).table_valued("tag").render_derived()
        a_tag_matches = exists(select(1).select_from(tag).where(_contains_any(search, tag.c.tag)))
        query = query.where(
            or_(_contains_any(search, EvalSet.eval_set_id, EvalSet.name, EvalSet.created_by), a_tag_matches)
        )
    return page_of(
        engine, query, order_by=[EvalSet.created_at.desc(), EvalSet.eval_set_id], limit=limit, offset=offset
    )


def list_evals(engine: Engine, eval_set_id: str, *, viewer: Principal | None = None) -> list[dict[str, Any]]:
    """One row per task x agent x model of an eval set, with its sample and error counts as imported, and its headline
    metric: the score it was read from and the metric's name (``cli.common.headline_name`` joins them)."""
    require_eval_set(engine, eval_set_id, viewer=viewer)
    errors = func.count(Sample.pk).filter(Sample.status == "error")
    query = (
        select(
            Eval.task_name.label("task"),
            Eval.agent,
            Eval.model,
            Eval.status,
            func.count(Sample.pk).label("samples"),
            Eval.total_samples.label("total"),
            errors.label("errors"),
            Eval.headline_score,
            Eval.headline_metric,
            Eval.headline_value,
            Eval.task_id,
            Eval.location,
        )
        .outerjoin(Sample, Sample.eval_pk == Eval.pk)
        .where(Eval.eval_set_id == eval_set_id)
        .group_by(Eval.pk)
        .order_by(Eval.task_name, Eval.agent, Eval.model)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def require_eval_set(engine: Engine, eval_set_id: str, *, viewer: Principal | None = None) -> None:
    """Raise :class:`UnknownIdError` unless the eval set is in the warehouse and ``viewer`` may see it."""
    query = select(EvalSet.pk).where(EvalSet.eval_set_id == eval_set_id)
    if viewer is not None:
        query = query.where(visible_clause(viewer, EvalSet.model_groups))
    with engine.connect() as conn:
        found = conn.execute(query).first()
    if found is None:  # absent or not visible: one answer
        raise UnknownIdError(f"no eval set {eval_set_id!r} in the warehouse")


# ------------------------------------------------------------------------------------------------------ samples

SAMPLE_STATUSES = ("success", "error", "context_limit", "time_limit", "working_limit", "message_limit",
                   "token_limit", "operator_limit", "custom_limit")  # fmt: skip


@dataclass(frozen=True)
class SampleFilter:
    """What ``list_samples`` selects. Empty fields do not filter.

    ``scorer`` chooses the score shown and filtered on (``name`` or ``name:key`` for dict-valued scores); without
    it the headline score is used.
    """

    eval_set_ids: Sequence[str] = ()
    task: str | None = None
    task_id: str | None = None
    """Inspect's task id: one eval of a task the eval set ran with several agents or argument sets (the results
    pages' links to one row of a grid)."""
    model: str | None = None
    statuses: Sequence[str] = ()
    scorer: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    text: str | None = None
    invalid: bool | None = None
    include_deleted: bool = False
    """Also samples of eval sets ``hawk delete`` has hidden."""
    sort: str = "completed_at"
    descending: bool = False
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in SAMPLE_SORTS:
            raise ValueError(f"cannot sort on {self.sort!r}; sortable columns: {', '.join(SAMPLE_SORTS)}")
        unknown = [s for s in self.statuses if s not in SAMPLE_STATUSES]
        if unknown:
            raise ValueError(f"unknown status {unknown[0]!r}; statuses: {', '.join(SAMPLE_STATUSES)}")
        if self.limit < 1 or self.offset < 0:
            raise ValueError("limit must be at least 1 and offset at least 0")

    @property
    def reads_eval(self) -> bool:
        """Whether a condition is on the ``eval`` row (a query must join it)."""
        return bool(self.eval_set_ids or self.task or self.task_id or self.model)


def selected_evals(f: SampleFilter, viewer: Principal | None) -> ScalarSelect[Any]:
    """The pks of the evals ``f``'s eval sets, task and model select (of those ``viewer`` may see)."""
    evals = select(Eval.pk)
    if viewer is not None:
        evals = evals.where(Eval.eval_set_id.in_(visible_eval_set_ids(viewer)))
    if f.eval_set_ids:
        evals = evals.where(Eval.eval_set_id.in_(list(f.eval_set_ids)))
    if f.task:
        evals = evals.where(Eval.task_name == f.task)
    if f.task_id:
        evals = evals.where(Eval.task_id == f.task_id)
    if f.model:
        evals = evals.where(Eval.model == f.model)
    return evals.scalar_subquery()


def scorer_labels(engine: Engine, f: SampleFilter, *, viewer: Principal | None = None) -> list[str]:
    """The scorers of the samples ``f``'s eval sets, task and model select, as ``--scorer`` names them: ``name``
    for a scalar score, ``name:key`` for each key of a dict-valued one."""
    query = (
        select(Score.scorer, Score.key)
        .distinct()
        .join(Sample, Sample.pk == Score.sample_pk)
        .where(Sample.eval_pk.in_(selected_evals(f, viewer)))
        .order_by(Score.scorer, Score.key)
    )
    with engine.connect() as conn:
        return [f"{name}:{key}" if key else name for name, key in conn.execute(query)]


def require_scorer(engine: Engine, f: SampleFilter, *, viewer: Principal | None = None) -> None:
    """Raise :class:`UnknownIdError`, naming the scorers there are, when ``f.scorer`` scored none of the selected
    samples (a misspelt scorer would otherwise list every sample with an empty score)."""
    if not f.scorer:
        return
    name, _, key = f.scorer.partition(":")
    # per sample through the (sample_pk, scorer, key) unique index: stops at the first sample that has the score
    scored = exists(
        select(1)
        .select_from(Sample)
        .join(Score, and_(Score.sample_pk == Sample.pk, Score.scorer == name, Score.key == key))
        .where(Sample.eval_pk.in_(selected_evals(f, viewer)))
    )
    with engine.connect() as conn:
        if conn.execute(select(scored)).scalar_one():
            return
    known = scorer_labels(engine, f, viewer=viewer)
    where = ", ".join(f.eval_set_ids) if f.eval_set_ids else "the warehouse"
    selection = "".join(
        f" {flag} {value}"
        for flag, value in (("--task", f.task), ("--task-id", f.task_id), ("--model", f.model))
        if value
    )
    raise UnknownIdError(
        f"no scorer {f.scorer!r} in {where}{selection}; scorers there: {', '.join(known) or 'none'}"
    )


def _scorer_lateral(scorer: str) -> LateralFromClause:
    """A chosen scorer's value per sample (the headline's is a column of ``sample``).

    A LATERAL join looks it up once per sample; as a correlated subquery it ran once for the column and once more for
    each bound of a score range.
    """
    name, _, key = scorer.partition(":")
    return (
        select(Score.value_float.label("value"))
        .where(Score.sample_pk == Sample.pk, Score.scorer == name, Score.key == key)
        .lateral("chosen_score")
    )


SAMPLE_SORTS = (
    "uuid", "eval_set_id", "task", "model", "id", "epoch", "status", "score", "total_tokens", "total_time",
    "message_count", "completed_at", "error",
)  # fmt: skip


def sample_select(f: SampleFilter, viewer: Principal | None) -> tuple[AnySelect, dict[str, Column]]:
    chosen, score, conditions = sample_conditions(f, viewer)
    columns: dict[str, Column] = {
        "uuid": Sample.uuid,
        "eval_set_id": Eval.eval_set_id,
        "task": Eval.task_name,
        "model": Eval.model,
        "id": Sample.id,
        "epoch": Sample.epoch,
        "status": Sample.status,
        "score": score,
        "total_tokens": Sample.total_tokens,
        "total_time": Sample.total_time_seconds,
        "message_count": Sample.message_count,
        "completed_at": Sample.completed_at,
        "error": Sample.error_message,
        "is_invalid": Sample.is_invalid,
    }
    query = select(*(c.label(name) for name, c in columns.items())).join(Eval, Eval.pk == Sample.eval_pk)
    if chosen is not None:
        query = query.outerjoin(chosen, true())
    if conditions:
        query = query.where(and_(*conditions))
    return query, columns


def _sample_count(f: SampleFilter, viewer: Principal | None) -> AnySelect:
    """The number of samples matching ``f``, joining ``eval`` only when a filter reads it.

    Every sample has its eval (a foreign key), so the join never changes the count; without it a score range or no
    filter at all is counted from an index alone (600,000 matches of a million: 440 ms through the listing's join).
    A viewer's filter is on ``sample.eval_pk`` and needs no join either.
    """
    chosen, _, conditions = sample_conditions(f, viewer)
    query = select(func.count()).select_from(Sample)
    if f.reads_eval:
        query = query.join(Eval, Eval.pk == Sample.eval_pk)
    if chosen is not None:
        query = query.outerjoin(chosen, true())
    return query.where(*conditions)


def sample_conditions(
    f: SampleFilter, viewer: Principal | None
) -> tuple[LateralFromClause | None, Column, list[ColumnElement[bool]]]:
    """(the chosen scorer's LATERAL or None, the score column, the WHERE conditions) of a sample filter, for
    ``viewer``."""
    chosen = _scorer_lateral(f.scorer) if f.scorer else None
    score = chosen.c.value if chosen is not None else Sample.headline_value
    conditions: list[ColumnElement[bool]] = visible_eval_conditions(viewer)
    if not f.include_deleted:
        conditions.append(_not_deleted())
    if f.eval_set_ids:
        conditions.append(Eval.eval_set_id.in_(list(f.eval_set_ids)))
    if f.task:
        conditions.append(Eval.task_name == f.task)
    if f.task_id:
        conditions.append(Eval.task_id == f.task_id)
    if f.model:
        conditions.append(Eval.model == f.model)
    if f.statuses:
        conditions.append(Sample.status.in_(list(f.statuses)))
    if f.invalid is not None:
        conditions.append(Sample.is_invalid.is_(f.invalid))
    if f.score_min is not None:
        conditions.append(score >= f.score_min)
    if f.score_max is not None:
        conditions.append(score <= f.score_max)
    if f.text:
        in_text = Sample.search_text.contains(search_key(f.text), autoescape=True)
        if _could_be_uuid(f.text):
            # the uuid is not in the search document; a prefix is matched through ix_sample_uuid_prefix
            in_text = or_(in_text, Sample.uuid.startswith(f.text.strip(), autoescape=True))
        conditions.append(in_text)
    return chosen, score, conditions


UUID_PREFIX_MIN = 6
"""Shortest search term also matched as the start of a sample uuid (base-57 ShortUUIDs: six characters already
single out one sample in billions, so shorter words are not taken for uuids)."""


def _could_be_uuid(text: str) -> bool:
    """Whether a search term can be (the start of) a sample uuid: one word of at least ``UUID_PREFIX_MIN`` letters,
    digits, '-' or '_'."""
    term = text.strip()
    return len(term) >= UUID_PREFIX_MIN and all(c.isascii() and (c.isalnum() or c in "-_") for c in term)


NUMERIC_ID = r"^[+-]?[0-9]+(\.[0-9]+)?$"
"""A dataset sample id that is a number ("7", "+12", "0.5"): ``id`` sorts these by value, before any other id."""


def _sort_keys(f: SampleFilter, columns: dict[str, Column]) -> list[Column]:
    """What ``f.sort`` orders by. Sample ids are text (Inspect ids are ints or strings), so ``id`` sorts numeric ids
    by value (1, 2, 10; not 1, 10, 2), then the other ids as text."""
    if f.sort != "id":
        return [columns[f.sort]]
    numeric = case((Sample.id.regexp_match(NUMERIC_ID), cast(Sample.id, Numeric)), else_=None)
    return [numeric, Sample.id]


def sample_order(f: SampleFilter, columns: dict[str, Column]) -> list[Column]:
    keys = _sort_keys(f, columns)
    if f.descending:
        # pk DESC too: (completed_at DESC NULLS LAST, pk DESC) is an index, so newest-first pages stop early.
        return [*(key.desc().nulls_last() for key in keys), Sample.pk.desc()]
    return [*(key.asc().nulls_last() for key in keys), Sample.pk]  # a unique tie-breaker keeps pages stable


def list_samples(engine: Engine, f: SampleFilter, *, viewer: Principal | None = None) -> Page:
    """One page of samples matching ``f`` plus the total count of matches."""
    page, count = sample_statements(f, viewer=viewer)
    with engine.connect() as conn:
        total = conn.execute(count).scalar_one()
        rows = [dict(r._mapping) for r in conn.execute(page)] if total > f.offset else []
    return Page(rows=rows, total=total, limit=f.limit, offset=f.offset)


def sample_statements(f: SampleFilter, *, viewer: Principal | None = None) -> tuple[AnySelect, AnySelect]:
    """The page and the count statement :func:`list_samples` runs (also for ``EXPLAIN`` in the benchmarks)."""
    query, columns = sample_select(f, viewer)
    return query.order_by(*sample_order(f, columns)).limit(f.limit).offset(f.offset), _sample_count(f, viewer)


def iter_samples(
    engine: Engine, f: SampleFilter, *, batch: int = 2000, viewer: Principal | None = None
) -> Iterator[dict[str, Any]]:
    """Every sample matching ``f`` (paging ignored), streamed through a server-side cursor."""
    query, columns = sample_select(f, viewer)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            query.order_by(*sample_order(f, columns))
        )
        for row in result:
            yield dict(row._mapping)


def export_samples_csv(
    engine: Engine,
    f: SampleFilter,
    out: IO[str],
    *,
    columns: Sequence[str] | None = None,
    paged: bool = False,
    viewer: Principal | None = None,
) -> int:
    """Write the matching samples as CSV and return the number of rows: every match (or only ``f``'s page when
    ``paged``), with the listing's columns (or ``columns``, in that order)."""
    query, available = sample_select(f, viewer)
    if columns is not None:
        unknown = [c for c in columns if c not in available]
        if unknown:
            raise ValueError(f"unknown sample column {unknown[0]!r}; columns: {', '.join(available)}")
        query = query.with_only_columns(*(available[c].label(c) for c in columns))
    query = query.order_by(*sample_order(f, available))
    if paged:
        query = query.limit(f.limit).offset(f.offset)
    return copy_csv(engine, query, out)


def copy_csv(engine: Engine, query: AnySelect, out: IO[str]) -> int:
    """Stream ``query``'s rows to ``out`` as CSV with a header row, written by PostgreSQL's ``COPY ... TO STDOUT``.

    A building block without a viewer: ``query`` must already be filtered for whoever reads the output.

    Why COPY: fetching rows into Python and writing them with :mod:`csv` cost ~25 us per row (2.5 s for 100,000
    samples, nearly all of it row processing); COPY formats them in the server (0.2 s). Values: timestamps in
    ISO 8601 UTC as ``to_json`` writes them (``2026-01-02T03:04:05.5+00:00``), booleans ``true``/``false``, JSON as
    JSON text, NULL as an empty field. Parameters are bound by psycopg on the client (COPY takes no server-side
    parameters), with its own quoting.
    """
    shaped = query.with_only_columns(*(_csv_column(c) for c in query.selected_columns))
    decoder = codecs.getincrementaldecoder("utf-8")()
    with engine.connect() as conn:
        compiled = shaped.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)  # the warehouse engine's driver (engine.DRIVER_SCHEME)
        with raw.cursor() as cur:
            # SET LOCAL: this transaction only (the pool rolls it back when the connection returns)
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            with cur.copy(
                f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, HEADER)", compiled.params
            ) as copy:
                for data in copy:
                    out.write(decoder.decode(data))
            out.write(decoder.decode(b"", final=True))
            return max(0, cur.rowcount)


def _csv_column(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` as the CSV should show it (see :func:`copy_csv`), keeping its name."""
    name = column.name
    if isinstance(column.type, DateTime):
        return func.btrim(cast(func.to_json(column), Text), '"').label(name)
    if isinstance(column.type, Boolean):
        return cast(column, Text).label(name)
    return column


def sample_location(engine: Engine, uuid: str, *, viewer: Principal | None = None) -> dict[str, Any]:
    """Where a sample lives: its log, task, model and eval set (for transcripts and links)."""
    query = (
        select(
            Sample.uuid,
            Sample.id,
            Sample.epoch,
            Eval.location,
            Eval.task_name.label("task"),
            Eval.model,
            Eval.eval_set_id,
        )
        .join(Eval, Eval.pk == Sample.eval_pk)
        .where(Sample.uuid == uuid, *visible_eval_conditions(viewer))
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:  # absent or not visible: one answer
        raise UnknownIdError(f"no sample with uuid {uuid!r} in the warehouse")
    return dict(row._mapping)


# ---------------------------------------------------------------------------------------------------------- scans


POSITIVE_RESULT = literal_column(
    "(scanner_result.error IS NULL AND scanner_result.value IS NOT NULL"
    " AND scanner_result.value NOT IN ('null', 'false', '0', '\"\"', '[]', '{}')"
    " AND NOT (jsonb_typeof(scanner_result.value) = 'string' AND lower(scanner_result.value #>> '{}') = 'none'))",
    Boolean,
)
"""A result whose value Scout counts as positive (``inspect_scout``'s ``is_positive_value``: not null, false, 0, an
empty string, 'none', [] or {}); each labelled result of a result set is judged alone."""

SCANNED = func.count(
    distinct(tuple_(ScannerResult.scan_source_pk, ScannerResult.scanner_key, ScannerResult.transcript_id))
)
"""Transcripts a scanner read, per scanner (and per model and eval set): a scanner that errored on one counts too."""
POSITIVE = func.count().filter(POSITIVE_RESULT)
"""Results with a positive value (:data:`POSITIVE_RESULT`)."""
ERRORS = func.count().filter(ScannerResult.error.is_not(None))
"""Transcripts a scanner failed on (Scout records the error as the result)."""


def list_scans(
    engine: Engine,
    *,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    viewer: Principal | None = None,
) -> Page:
    """Scans, newest first: eval sets read, what was scanned and found (:data:`SCANNED`, :data:`POSITIVE`,
    :data:`ERRORS`, summed over scanners), and whether every cell is complete."""
    sources = (
        select(
            ScanSource.scan_pk.label("scan_pk"),
            func.count(distinct(ScanSource.eval_set_id)).label("eval_sets"),
            func.bool_and(ScanSource.complete).label("complete"),
        )
        .group_by(ScanSource.scan_pk)
        .subquery()
    )
    results = (
        select(
            ScannerResult.scan_pk.label("scan_pk"),
            SCANNED.label("scanned"),
            POSITIVE.label("positive"),
            ERRORS.label("errors"),
            func.count(distinct(ScannerResult.scanner_key)).label("scanners"),
        )
        .group_by(ScannerResult.scan_pk)
        .subquery()
    )
    query = (
        select(
            Scan.scan_id,
            Scan.name,
            Scan.created_by,
            Scan.created_at,
            func.coalesce(results.c.scanners, 0).label("scanners"),
            func.coalesce(sources.c.eval_sets, 0).label("eval_sets"),
            func.coalesce(results.c.scanned, 0).label("scanned"),
            func.coalesce(results.c.positive, 0).label("positive"),
            func.coalesce(results.c.errors, 0).label("errors"),
            sources.c.complete,
            Scan.standing,
            Scan.schedule,
        )
        .outerjoin(sources, sources.c.scan_pk == Scan.pk)
        .outerjoin(results, results.c.scan_pk == Scan.pk)
    )
    if viewer is not None:
        query = query.where(visible_clause(viewer, Scan.model_groups))
    if search:
        query = query.where(_contains_any(search, Scan.scan_id, Scan.name, Scan.created_by))
    return page_of(engine, query, order_by=[Scan.created_at.desc(), Scan.scan_id], limit=limit, offset=offset)


def scanner_counts(
    engine: Engine,
    scan_id: str,
    eval_set_ids: Sequence[str] | None = None,
    *,
    viewer: Principal | None = None,
) -> list[dict[str, Any]]:
    """Per eval set, scanner and model of a scan: the figures :func:`list_scans` sums (``hawk local scan``'s table);
    none for a scan ``viewer`` may not see."""
    query = (
        select(
            ScanSource.eval_set_id,
            ScannerResult.scanner_key.label("scanner"),
            ScanSource.model,
            SCANNED.label("scanned"),
            POSITIVE.label("positive"),
            ERRORS.label("errors"),
        )
        .join(ScanSource, ScanSource.pk == ScannerResult.scan_source_pk)
        .join(Scan, Scan.pk == ScannerResult.scan_pk)
        .where(Scan.scan_id == scan_id)
        .group_by(ScanSource.eval_set_id, ScannerResult.scanner_key, ScanSource.model)
        .order_by(ScanSource.eval_set_id, ScannerResult.scanner_key, ScanSource.model)
    )
    if eval_set_ids is not None:
        query = query.where(ScanSource.eval_set_id.in_(list(eval_set_ids)))
    if viewer is not None:
        query = query.where(visible_clause(viewer, Scan.model_groups))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


SCANNER_RESULT_COLUMNS = (
    "scan_id", "eval_set_id", "model", "scanner_key", "scanner_name", "transcript_id", "sample_id", "epoch", "task",
    "sample_model", "label", "value", "value_type", "value_float", "answer", "explanation", "error", "total_tokens",
    "scanned_at",
)  # fmt: skip


def export_scanner_results_csv(
    engine: Engine,
    scan_id: str,
    out: IO[str],
    *,
    scanner_key: str | None = None,
    viewer: Principal | None = None,
) -> int:
    """Every result of a scan (or of one scanner key) as CSV, joined to the sample it read; returns the row count."""
    find = select(Scan.pk).where(Scan.scan_id == scan_id)
    if viewer is not None:
        find = find.where(visible_clause(viewer, Scan.model_groups))
    with engine.connect() as conn:
        scan_pk = conn.execute(find).scalar()
        if scan_pk is None:  # absent or not visible: one answer
            raise UnknownIdError(f"no scan {scan_id!r} in the warehouse")
        if scanner_key is not None:
            keys = (
                conn.execute(
                    select(ScannerResult.scanner_key).where(ScannerResult.scan_pk == scan_pk).distinct()
                )
                .scalars()
                .all()
            )
            if scanner_key not in keys:
                raise UnknownIdError(
                    f"scan {scan_id!r} has no scanner {scanner_key!r}; its scanners: {', '.join(sorted(keys)) or 'none'}"
                )
    query = (
        select(
            Scan.scan_id,
            ScanSource.eval_set_id,
            ScanSource.model,
            ScannerResult.scanner_key,
            ScannerResult.scanner_name,
            ScannerResult.transcript_id,
            Sample.id.label("sample_id"),
            Sample.epoch,
            Eval.task_name.label("task"),
            Eval.model.label("sample_model"),
            ScannerResult.label,
            ScannerResult.value,
            ScannerResult.value_type,
            ScannerResult.value_float,
            ScannerResult.answer,
            ScannerResult.explanation,
            ScannerResult.error,
            ScannerResult.total_tokens,
            ScannerResult.scanned_at,
        )
        .join(ScanSource, ScanSource.pk == ScannerResult.scan_source_pk)
        .join(Scan, Scan.pk == ScannerResult.scan_pk)
        .outerjoin(Sample, Sample.pk == ScannerResult.sample_pk)
        .outerjoin(Eval, Eval.pk == Sample.eval_pk)
        .where(ScannerResult.scan_pk == scan_pk)
        .order_by(
            ScanSource.eval_set_id,
            ScanSource.model,
            ScannerResult.scanner_key,
            ScannerResult.transcript_id,
            ScannerResult.label,
        )
    )
    if scanner_key is not None:
        query = query.where(ScannerResult.scanner_key == scanner_key)
    return copy_csv(engine, query, out)


# -------------------------------------------------------------------------------------------------------- paging


def _contains_any(search: str, *columns: Column) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of ``columns`` (LIKE wildcards in ``search`` are literal)."""
    return or_(*(column.icontains(search, autoescape=True) for column in columns))


def page_of(
    engine: Engine,
    query: AnySelect,
    *,
    order_by: Sequence[Column],
    limit: int,
    offset: int,
    count: AnySelect | None = None,
) -> Page:
    """One page of ``query`` plus its total: ``count``'s, or the query counted as a subquery (a cheaper ``count``
    that selects the same rows without the query's joins may be given)."""
    if count is None:
        count = select(func.count()).select_from(query.order_by(None).subquery())
    with engine.connect() as conn:
        total = conn.execute(count).scalar_one()
        rows = (
            [dict(r._mapping) for r in conn.execute(query.order_by(*order_by).limit(limit).offset(offset))]
            if total > offset
            else []
        )
    return Page(rows=rows, total=total, limit=limit, offset=offset)


__all__ = [
    "SAMPLE_SORTS",
    "SAMPLE_STATUSES",
    "Page",
    "SampleFilter",
    "UnknownIdError",
    "export_samples_csv",
    "export_scanner_results_csv",
    "iter_samples",
    "list_eval_sets",
    "list_evals",
    "list_samples",
    "list_scans",
    "page_of",
    "require_eval_set",
    "require_scorer",
    "sample_location",
    "sample_statements",
    "scanner_counts",
    "scorer_labels",
    "visible_eval_set_ids",
]
