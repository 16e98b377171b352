"""Bulk writes for one log's samples: ``COPY`` (psycopg 3) into staging tables, then set-based upserts.

Used inside the importer's per-log transaction, on the SQLAlchemy connection's own psycopg connection, so everything
commits or rolls back together. Per chunk of samples:

1. ``COPY`` the sample rows into a ``TEMP`` staging table (``ON COMMIT DROP``), then one
   ``INSERT ... SELECT ... ON CONFLICT (uuid) DO UPDATE ... WHERE eval_pk = EXCLUDED.eval_pk RETURNING`` gives each
   sample's pk and whether it was new. A uuid owned by another eval is not touched and fails the log.
2. Messages and sample models of samples that already existed are deleted (replaced wholesale), then the new rows are
   ``COPY``'d straight into ``message`` and ``sample_model``: no staging, no conflict checks.
3. Scores are ``COPY``'d into staging and upserted on (sample_pk, scorer, key), so a score row keeps its pk across
   re-imports; scores an existing sample no longer has are deleted.

A few statements per chunk, whatever its size: no per-sample or per-row round trips.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors
from psycopg import sql
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql

from hawk_dagster.warehouse.models import Message, Sample, SampleModel, Score
from hawk_dagster.warehouse.rows import (
    MESSAGE_COLUMNS,
    SAMPLE_COLUMNS,
    SAMPLE_MODEL_COLUMNS,
    SCORE_COLUMNS,
    SampleRows,
)

logger = logging.getLogger(__name__)

STAGE_SAMPLE = "_hawk_stage_sample"
STAGE_SCORE = "_hawk_stage_score"

_sample_table: Table = Sample.__table__  # type: ignore[assignment]
_score_table: Table = Score.__table__  # type: ignore[assignment]
_message_table: Table = Message.__table__  # type: ignore[assignment]
_sample_model_table: Table = SampleModel.__table__  # type: ignore[assignment]
_dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


def _ids(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _stage_ddl(name: str, table: Table, columns: Sequence[str]) -> sql.Composed:
    """``CREATE TEMP TABLE`` with the target table's column types (kept in sync with the models)."""
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(table.c[c].type.compile(dialect=_dialect)))
        for c in columns
    )
    return sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(name), definitions)


_SCORE_STAGE_COLUMNS = SCORE_COLUMNS
_SCORE_UPDATE = tuple(c for c in SCORE_COLUMNS if c not in ("sample_pk", "scorer", "key"))
_SAMPLE_UPDATE = tuple(c for c in SAMPLE_COLUMNS if c != "uuid")


def _set_from_excluded(columns: tuple[str, ...]) -> sql.Composed:
    """``a = EXCLUDED.a, b = EXCLUDED.b, ...`` for an upsert's DO UPDATE."""
    return sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns)


_UPSERT_SAMPLES = sql.SQL(
    "INSERT INTO sample AS s (eval_pk, {cols}) SELECT %s, {cols} FROM {stage} "
    "ON CONFLICT (uuid) DO UPDATE SET {updates}, eval_pk = EXCLUDED.eval_pk, updated_at = now() "
    "WHERE s.eval_pk = EXCLUDED.eval_pk "
    "RETURNING s.uuid, s.pk, (s.xmax = 0) AS inserted"
).format(
    cols=_ids(SAMPLE_COLUMNS),
    stage=sql.Identifier(STAGE_SAMPLE),
    updates=_set_from_excluded(_SAMPLE_UPDATE),
)

_UPSERT_SCORES = sql.SQL(
    "INSERT INTO score AS t ({cols}) SELECT {cols} FROM {stage} "
    "ON CONFLICT (sample_pk, scorer, key) DO UPDATE SET {updates}, updated_at = now()"
).format(
    cols=_ids(SCORE_COLUMNS),
    stage=sql.Identifier(STAGE_SCORE),
    updates=_set_from_excluded(_SCORE_UPDATE),
)

_DELETE_STALE_SCORES = sql.SQL(
    "DELETE FROM score t WHERE t.sample_pk = ANY(%s) AND NOT EXISTS "
    "(SELECT 1 FROM {stage} s WHERE s.sample_pk = t.sample_pk AND s.scorer = t.scorer AND s.key = t.key)"
).format(stage=sql.Identifier(STAGE_SCORE))

_COPY_STAGE_SAMPLE = sql.SQL("COPY {} ({}) FROM STDIN").format(
    sql.Identifier(STAGE_SAMPLE), _ids(SAMPLE_COLUMNS)
)
_COPY_STAGE_SCORE = sql.SQL("COPY {} ({}) FROM STDIN").format(
    sql.Identifier(STAGE_SCORE), _ids(SCORE_COLUMNS)
)
_COPY_MESSAGE = sql.SQL("COPY message ({}) FROM STDIN").format(_ids(MESSAGE_COLUMNS))
_COPY_SAMPLE_MODEL = sql.SQL("COPY sample_model ({}) FROM STDIN").format(_ids(SAMPLE_MODEL_COLUMNS))


_GIN_INDEXES = ("ix_message_content_text_trgm", "ix_sample_search_text_trgm", "ix_sample_id_trgm")
"""Trigram indexes the importer writes to (their pending lists are merged at the end of each log)."""


class SampleOwnedElsewhere(ValueError):
    """Sample uuids of the log already belong to another eval (e.g. the same logs imported under two eval sets)."""


@dataclass
class ChunkCounts:
    """Rows written for one chunk."""

    samples: int = 0
    scores: int = 0
    messages: int = 0


class ChunkWriter:
    """Writes chunks of :class:`SampleRows` of one eval, inside the caller's open transaction."""

    def __init__(self, conn: Connection, eval_pk: UUID) -> None:
        self._conn = conn
        self._eval_pk = eval_pk
        self._raw: Any = conn.connection.driver_connection
        with self._raw.cursor() as cur:
            cur.execute(_stage_ddl(STAGE_SAMPLE, _sample_table, SAMPLE_COLUMNS))
            cur.execute(_stage_ddl(STAGE_SCORE, _score_table, _SCORE_STAGE_COLUMNS))

    def write(self, chunk: Sequence[SampleRows]) -> ChunkCounts:
        counts = ChunkCounts()
        if not chunk:
            return counts
        with self._raw.cursor() as cur:
            cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(STAGE_SAMPLE)))
            cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(STAGE_SCORE)))
            with cur.copy(_COPY_STAGE_SAMPLE) as copy:
                for rows in chunk:
                    copy.write_row(rows.sample)
            cur.execute(_UPSERT_SAMPLES, (self._eval_pk,))
            pks: dict[str, UUID] = {}
            existing: list[UUID] = []
            for uuid, pk, inserted in cur.fetchall():
                pks[uuid] = pk
                if not inserted:
                    existing.append(pk)
            if len(pks) != len(chunk):
                self._raise_owned_elsewhere(cur, [rows.uuid for rows in chunk if rows.uuid not in pks])

            if existing:
                cur.execute("DELETE FROM message WHERE sample_pk = ANY(%s)", (existing,))
                cur.execute("DELETE FROM sample_model WHERE sample_pk = ANY(%s)", (existing,))
            with cur.copy(_COPY_MESSAGE) as copy:
                for rows in chunk:
                    pk = pks[rows.uuid]
                    for message in rows.messages:
                        copy.write_row((pk, *message))
                    counts.messages += len(rows.messages)
            with cur.copy(_COPY_SAMPLE_MODEL) as copy:
                for rows in chunk:
                    pk = pks[rows.uuid]
                    for model in rows.models:
                        copy.write_row((pk, model))

            with cur.copy(_COPY_STAGE_SCORE) as copy:
                for rows in chunk:
                    pk = pks[rows.uuid]
                    for score in rows.scores:
                        copy.write_row((pk, *score))
                    counts.scores += len(rows.scores)
            cur.execute(_UPSERT_SCORES)
            if existing:
                cur.execute(_DELETE_STALE_SCORES, (existing,))
        counts.samples = len(chunk)
        return counts

    def finish(self) -> None:
        """Merge the trigram indexes' pending lists into the indexes, so searches are fast as soon as this commits."""
        with self._raw.cursor() as cur:
            for index in _GIN_INDEXES:
                try:
                    with self._raw.transaction():  # a savepoint: a failure here must not abort the import
                        cur.execute(
                            "SELECT gin_clean_pending_list(i) FROM to_regclass(%s) AS i WHERE i IS NOT NULL",
                            (index,),
                        )
                except psycopg.errors.InsufficientPrivilege:
                    # Only the index's owner may merge it (e.g. migrations ran as another role): autovacuum will.
                    logger.debug("not the owner of %s: its pending list is left to autovacuum", index)

    def _raise_owned_elsewhere(self, cur: Any, missing: list[str]) -> None:
        cur.execute(
            "SELECT e.eval_set_id, e.task_id, count(*) FROM sample s JOIN eval e ON e.pk = s.eval_pk "
            "WHERE s.uuid = ANY(%s) GROUP BY e.eval_set_id, e.task_id ORDER BY 1, 2",
            (missing,),
        )
        where = ", ".join(f"{n} in eval set {es!r} task {t!r}" for es, t, n in cur.fetchall())
        raise SampleOwnedElsewhere(
            f"{len(missing)} sample uuids already belong to another eval ({where}), e.g. {missing[0]!r}"
        )
