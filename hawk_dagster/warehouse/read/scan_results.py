"""One scan's results for its page: per scanner what was scanned and found, how its values are distributed, and the
flagged (positive) results with their explanations, paged.

Counts reuse ``queries``' definitions (:data:`~hawk_dagster.warehouse.read.queries.SCANNED`, ``POSITIVE``,
``ERRORS``), so this page, ``hawk list scans`` and ``hawk local scan`` agree. Distributions are SQL aggregates:
numeric values in equal-width bins (``width_bucket`` between the scanner's min and max), other values counted by
value, the most frequent first. Access: a scan ``viewer`` may not see raises ``UnknownIdError`` as an absent one does,
and, failing closed, results read from an eval set the viewer may not see are left out of every figure (a scan's
groups include its sources', so this only matters if the two ever disagree).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Engine, func, literal_column, select
from sqlalchemy.sql import ColumnElement

from hawk_dagster.access.policy import visible_clause
from hawk_dagster.warehouse.read.queries import (
    ERRORS,
    POSITIVE,
    POSITIVE_RESULT,
    SCANNED,
    Column,
    Page,
    UnknownIdError,
    page_of,
    visible_eval_set_ids,
)
from hawk_dagster.warehouse.schema.models import Eval, Sample, Scan, ScannerResult, ScanSource

if TYPE_CHECKING:
    from uuid import UUID

    from hawk_dagster.access.principal import Principal

NUMERIC_BINS: Final = 10
TOP_VALUES: Final = 12
"""Distinct non-numeric values shown per scanner; the rest are summed as "other"."""
NUMERIC_TYPES: Final = ("number", "integer", "float")


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int
    low: float | None = None
    high: float | None = None
    """Numeric bins: [low, high) (the last bin includes its high)."""


@dataclass(frozen=True)
class ScannerSummary:
    scanner: str
    results: int
    scanned: int
    positive: int
    errors: int
    numeric: bool
    """Whether the distribution is of numeric values (bins) rather than of distinct values."""
    distribution: list[Bucket]


@dataclass(frozen=True)
class ScanSourceRow:
    eval_set_id: str
    model: str
    complete: bool
    transcripts: int | None


@dataclass(frozen=True)
class ScanResults:
    scan_id: str
    name: str | None
    created_by: str | None
    created_at: datetime
    standing: bool
    schedule: str | None
    sources: list[ScanSourceRow]
    scanners: list[ScannerSummary]


def _find_scan(engine: Engine, scan_id: str, viewer: Principal | None) -> Any:
    """The scan's row (pk, scan_id, name, created_by, created_at, standing, schedule) if ``viewer`` may see it."""
    query = select(
        Scan.pk, Scan.scan_id, Scan.name, Scan.created_by, Scan.created_at, Scan.standing, Scan.schedule
    ).where(Scan.scan_id == scan_id)
    if viewer is not None:
        query = query.where(visible_clause(viewer, Scan.model_groups))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:  # absent or not visible: one answer
        raise UnknownIdError(f"no scan {scan_id!r} in the warehouse")
    return row


def _visible_results(scan_pk: UUID, viewer: Principal | None) -> list[ColumnElement[bool]]:
    """The scan's results, without those read from eval sets ``viewer`` may not see."""
    conditions = [ScannerResult.scan_pk == scan_pk]
    if viewer is not None:
        visible_sources = select(ScanSource.pk).where(
            ScanSource.scan_pk == scan_pk, ScanSource.eval_set_id.in_(visible_eval_set_ids(viewer))
        )
        conditions.append(ScannerResult.scan_source_pk.in_(visible_sources))
    return conditions


def scan_results(engine: Engine, scan_id: str, *, viewer: Principal | None = None) -> ScanResults:
    """The scan's header, sources and per-scanner figures and distributions."""
    scan = _find_scan(engine, scan_id, viewer)
    where = _visible_results(scan.pk, viewer)
    sources = select(
        ScanSource.eval_set_id, ScanSource.model, ScanSource.complete, ScanSource.transcripts
    ).where(ScanSource.scan_pk == scan.pk)
    if viewer is not None:
        sources = sources.where(ScanSource.eval_set_id.in_(visible_eval_set_ids(viewer)))
    is_numeric = ScannerResult.value_type.in_(NUMERIC_TYPES) & ScannerResult.value_float.is_not(None)
    counts = (
        select(
            ScannerResult.scanner_key,
            func.count().label("results"),
            SCANNED.label("scanned"),
            POSITIVE.label("positive"),
            ERRORS.label("errors"),
            func.count().filter(is_numeric).label("numeric"),
            func.count().filter(ScannerResult.error.is_(None)).label("valued"),
            func.min(ScannerResult.value_float).filter(is_numeric).label("low"),
            func.max(ScannerResult.value_float).filter(is_numeric).label("high"),
        )
        .where(*where)
        .group_by(ScannerResult.scanner_key)
        .order_by(ScannerResult.scanner_key)
    )
    scanners: list[ScannerSummary] = []
    with engine.connect() as conn:
        source_rows = [ScanSourceRow(*row) for row in conn.execute(sources.order_by(ScanSource.eval_set_id))]
        for row in conn.execute(counts).all():
            numeric = row.valued > 0 and row.numeric == row.valued
            if numeric:
                distribution = _bins(conn, where, row.scanner_key, row.low, row.high)
            else:
                distribution = _top_values(conn, where, row.scanner_key)
            scanners.append(
                ScannerSummary(
                    row.scanner_key, row.results, row.scanned, row.positive, row.errors, numeric, distribution
                )
            )
    return ScanResults(
        scan_id=scan.scan_id,
        name=scan.name,
        created_by=scan.created_by,
        created_at=scan.created_at,
        standing=scan.standing,
        schedule=scan.schedule,
        sources=source_rows,
        scanners=scanners,
    )


def _bins(
    conn: Connection, where: list[ColumnElement[bool]], scanner: str, low: float, high: float
) -> list[Bucket]:
    """Equal-width bins between the scanner's smallest and largest value (one bin when they are equal)."""
    if high <= low:
        query = select(func.count()).where(
            *where, ScannerResult.scanner_key == scanner, ScannerResult.value_float.is_not(None)
        )
        return [Bucket(_number(low), conn.execute(query).scalar_one(), low, high)]
    width = (high - low) / NUMERIC_BINS
    # width_bucket puts the maximum in bin NUMERIC_BINS + 1: least() folds it into the last bin
    bucket = func.least(func.width_bucket(ScannerResult.value_float, low, high, NUMERIC_BINS), NUMERIC_BINS)
    query = (
        select(bucket, func.count())
        .where(*where, ScannerResult.scanner_key == scanner, ScannerResult.value_float.is_not(None))
        .group_by(bucket)
    )
    rows: list[Any] = list(conn.execute(query))
    counts: dict[int, int] = {row[0]: row[1] for row in rows}
    buckets = []
    for i in range(1, NUMERIC_BINS + 1):
        lo, hi = low + (i - 1) * width, low + i * width
        buckets.append(Bucket(f"{_number(lo)} to {_number(hi)}", counts.get(i, 0), lo, hi))
    return buckets


def _top_values(conn: Connection, where: list[ColumnElement[bool]], scanner: str) -> list[Bucket]:
    """The most frequent values (as text; errors as "error"), the rest summed as "other"."""
    # a string's text unquoted, other JSON as JSON text; JSON null and SQL NULL both read "null"
    value = func.coalesce(ScannerResult.value.op("#>>")(literal_column("'{}'")), "null")
    query = (
        select(
            value.label("value"), ScannerResult.error.is_not(None).label("errored"), func.count().label("n")
        )
        .where(*where, ScannerResult.scanner_key == scanner)
        .group_by(value, ScannerResult.error.is_not(None))
        .order_by(func.count().desc(), value)
    )
    rows = conn.execute(query).all()
    errors = sum(r.n for r in rows if r.errored)
    values = [r for r in rows if not r.errored]
    buckets = [Bucket(r.value, r.n) for r in values[:TOP_VALUES]]
    rest = sum(r.n for r in values[TOP_VALUES:])
    if rest:
        buckets.append(Bucket("other", rest))
    if errors:
        buckets.append(Bucket("error", errors))
    return buckets


def _number(value: float) -> str:
    return f"{value:.3g}"


def flagged_results(
    engine: Engine,
    scan_id: str,
    *,
    scanner: str | None = None,
    limit: int = 50,
    offset: int = 0,
    viewer: Principal | None = None,
) -> Page:
    """The scan's positive results (Scout's ``is_positive_value``), optionally of one scanner, with the sample each
    read (its uuid, id, epoch, task and model when the warehouse holds it and ``viewer`` may see it). Rows:
    ``scanner``, ``eval_set_id``, ``transcript_id``, ``label``, ``value``, ``answer``, ``explanation``,
    ``sample_uuid``, ``sample_id``, ``epoch``, ``task``, ``model``; by eval set, scanner, task, model, sample id and
    epoch."""
    scan = _find_scan(engine, scan_id, viewer)
    where = [*_visible_results(scan.pk, viewer), POSITIVE_RESULT]
    if scanner is not None:
        where.append(ScannerResult.scanner_key == scanner)
    query = (
        select(
            ScannerResult.scanner_key.label("scanner"),
            ScanSource.eval_set_id,
            ScannerResult.transcript_id,
            ScannerResult.label,
            ScannerResult.value,
            ScannerResult.answer,
            ScannerResult.explanation,
            Sample.uuid.label("sample_uuid"),
            Sample.id.label("sample_id"),
            Sample.epoch,
            Eval.task_name.label("task"),
            Eval.model,
        )
        .join(ScanSource, ScanSource.pk == ScannerResult.scan_source_pk)
        .outerjoin(Sample, Sample.pk == ScannerResult.sample_pk)
        .outerjoin(Eval, Eval.pk == Sample.eval_pk)
        .where(*where)
    )
    count = select(func.count()).select_from(ScannerResult).where(*where)
    order: list[Column] = [
        ScanSource.eval_set_id,
        ScannerResult.scanner_key,
        Eval.task_name.asc().nulls_last(),
        Eval.model,
        Sample.id,
        Sample.epoch,
        ScannerResult.transcript_id,
        ScannerResult.label,
    ]
    return page_of(engine, query, order_by=order, limit=limit, offset=offset, count=count)


def scanner_keys(engine: Engine, scan_id: str, *, viewer: Principal | None = None) -> list[str]:
    """The scan's scanner keys (for a filter's choices)."""
    scan = _find_scan(engine, scan_id, viewer)
    query = select(ScannerResult.scanner_key).distinct().where(ScannerResult.scan_pk == scan.pk)
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())
