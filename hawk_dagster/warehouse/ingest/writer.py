"""Bulk writes for one log's samples with ``COPY`` (psycopg 3): straight into the tables for new samples, through
staging tables and set-based upserts for samples the warehouse already holds.

Used inside the importer's per-log transaction, on the SQLAlchemy connection's own psycopg connection, so everything
commits or rolls back together. Per chunk of samples:

1. One lookup of the chunk's uuids tells new samples from existing ones. A uuid owned by another eval fails the log.
2. New samples (a first import, and most samples of a resumed run's log) get their pk here and are ``COPY``'d
   straight into ``sample``, their scores straight into ``score``: no staging table, no conflict checks. Why: the
   staging copy, its upsert and its cleanup were a quarter of the database's work on a first import.
3. Existing samples are ``COPY``'d into a ``TEMP`` staging table (``ON COMMIT DROP``) and upserted from it
   (``INSERT ... SELECT ... ON CONFLICT (uuid) DO UPDATE ... WHERE eval_pk = EXCLUDED.eval_pk``); their messages and
   sample models are deleted (replaced wholesale); their scores are staged and upserted on (sample_pk, scorer, key),
   so a score row keeps its pk across re-imports, and scores a sample no longer has are deleted.
4. Messages and sample models of every sample are ``COPY``'d straight into their tables.

A few statements per chunk, whatever its size: no per-sample or per-row round trips.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import psycopg
import psycopg.errors
from psycopg import sql
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql

from hawk_dagster.warehouse.ingest.rows import (
    MESSAGE_COLUMNS,
    SAMPLE_COLUMNS,
    SAMPLE_MODEL_COLUMNS,
    SCORE_COLUMNS,
    SampleRows,
)
from hawk_dagster.warehouse.schema.models import Message, Sample, SampleModel, Score, table_of

logger = logging.getLogger(__name__)

STAGE_SAMPLE = "_hawk_stage_sample"
STAGE_SCORE = "_hawk_stage_score"

_sample_table = table_of(Sample)
_score_table = table_of(Score)
_message_table = table_of(Message)
_sample_model_table = table_of(SampleModel)
_dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves the dialect constructor untyped


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
_COPY_NEW_SAMPLE = sql.SQL("COPY sample (eval_pk, pk, {}) FROM STDIN").format(_ids(SAMPLE_COLUMNS))
_COPY_NEW_SCORE = sql.SQL("COPY score ({}) FROM STDIN").format(_ids(SCORE_COLUMNS))
_COPY_MESSAGE = sql.SQL("COPY message ({}) FROM STDIN").format(_ids(MESSAGE_COLUMNS))
_COPY_SAMPLE_MODEL = sql.SQL("COPY sample_model ({}) FROM STDIN").format(_ids(SAMPLE_MODEL_COLUMNS))


_GIN_INDEXES = ("ix_message_content_text_trgm", "ix_sample_search_text_trgm", "ix_sample_id_trgm")
"""Trigram indexes the importer writes to (their pending lists are merged at the end of each log)."""


_SAMPLE_UUID_CONSTRAINT = "uq_sample_uuid"


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
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)  # the warehouse engine's driver (engine.DRIVER_SCHEME)
        self._raw: psycopg.Connection[Any] = raw
        self._staging = False

    def write(self, chunk: Sequence[SampleRows]) -> ChunkCounts:
        counts = ChunkCounts()
        if not chunk:
            return counts
        with self._raw.cursor() as cur:
            pks = self._existing(cur, chunk)
            existing = [rows for rows in chunk if rows.uuid in pks]
            new = [rows for rows in chunk if rows.uuid not in pks]
            for rows in new:
                pks[rows.uuid] = uuid4()
            if new:
                self._copy_new(cur, new, pks)
            if existing:
                self._upsert_existing(cur, existing, pks)
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
        counts.samples = len(chunk)
        counts.scores = sum(len(rows.scores) for rows in chunk)
        return counts

    def _existing(self, cur: psycopg.Cursor[Any], chunk: Sequence[SampleRows]) -> dict[str, UUID]:
        """uuid -> pk of the chunk's samples this eval already holds; fails on a uuid another eval holds."""
        cur.execute(
            "SELECT uuid, pk, eval_pk FROM sample WHERE uuid = ANY(%s)", ([rows.uuid for rows in chunk],)
        )
        pks: dict[str, UUID] = {}
        elsewhere: list[str] = []
        for uuid, pk, eval_pk in cur.fetchall():
            if eval_pk == self._eval_pk:
                pks[uuid] = pk
            else:
                elsewhere.append(uuid)
        if elsewhere:
            self._raise_owned_elsewhere(cur, elsewhere)
        return pks

    def _copy_new(self, cur: psycopg.Cursor[Any], new: Sequence[SampleRows], pks: dict[str, UUID]) -> None:
        try:
            with cur.copy(_COPY_NEW_SAMPLE) as copy:
                for rows in new:
                    copy.write_row((self._eval_pk, pks[rows.uuid], *rows.sample))
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != _SAMPLE_UUID_CONSTRAINT:
                raise
            # Another eval's import committed one of these uuids after the lookup (eval sets lock separately).
            raise SampleOwnedElsewhere(
                f"sample uuids of this log were imported into another eval meanwhile ({exc.diag.message_detail})"
            ) from exc
        with cur.copy(_COPY_NEW_SCORE) as copy:
            for rows in new:
                pk = pks[rows.uuid]
                for score in rows.scores:
                    copy.write_row((pk, *score))

    def _upsert_existing(
        self, cur: psycopg.Cursor[Any], existing: Sequence[SampleRows], pks: dict[str, UUID]
    ) -> None:
        if not self._staging:
            cur.execute(_stage_ddl(STAGE_SAMPLE, _sample_table, SAMPLE_COLUMNS))
            cur.execute(_stage_ddl(STAGE_SCORE, _score_table, _SCORE_STAGE_COLUMNS))
            self._staging = True
        cur.execute(
            sql.SQL("TRUNCATE {}, {}").format(sql.Identifier(STAGE_SAMPLE), sql.Identifier(STAGE_SCORE))
        )
        with cur.copy(_COPY_STAGE_SAMPLE) as copy:
            for rows in existing:
                copy.write_row(rows.sample)
        cur.execute(_UPSERT_SAMPLES, (self._eval_pk,))
        updated = {uuid: pk for uuid, pk, _inserted in cur.fetchall()}
        if len(updated) != len(existing):  # moved to another eval since the lookup
            self._raise_owned_elsewhere(cur, [rows.uuid for rows in existing if rows.uuid not in updated])
        pks.update(updated)
        sample_pks = [pks[rows.uuid] for rows in existing]
        cur.execute("DELETE FROM message WHERE sample_pk = ANY(%s)", (sample_pks,))
        cur.execute("DELETE FROM sample_model WHERE sample_pk = ANY(%s)", (sample_pks,))
        with cur.copy(_COPY_STAGE_SCORE) as copy:
            for rows in existing:
                pk = pks[rows.uuid]
                for score in rows.scores:
                    copy.write_row((pk, *score))
        cur.execute(_UPSERT_SCORES)
        cur.execute(_DELETE_STALE_SCORES, (sample_pks,))

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

    def _raise_owned_elsewhere(self, cur: psycopg.Cursor[Any], missing: list[str]) -> None:
        cur.execute(
            "SELECT e.eval_set_id, e.task_id, count(*) FROM sample s JOIN eval e ON e.pk = s.eval_pk "
            "WHERE s.uuid = ANY(%s) GROUP BY e.eval_set_id, e.task_id ORDER BY 1, 2",
            (missing,),
        )
        where = ", ".join(f"{n} in eval set {es!r} task {t!r}" for es, t, n in cur.fetchall())
        raise SampleOwnedElsewhere(
            f"{len(missing)} sample uuids already belong to another eval ({where}), e.g. {missing[0]!r}"
        )
