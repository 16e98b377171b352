"""The warehouse schema (SQLAlchemy 2 declarative models). Alembic migrations must match this module exactly.

Shape follows the reference warehouse (``pk`` UUID primary keys from ``gen_random_uuid()``, ``created_at`` /
``updated_at``, JSONB for structured Inspect fields, natural unique keys for idempotent upserts) with an
``eval_set`` registry row per submission. Status-like columns are ``text`` with CHECK constraints rather than
PostgreSQL enums, so adding a value is a one-line migration instead of an ``ALTER TYPE`` dance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID as PyUUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

EVAL_STATUSES = ("started", "success", "cancelled", "error")
"""``EvalLog.status`` values; ``started`` is a run that was killed (or is still running) when its log was read."""

JSON_TYPE = JSONB(none_as_null=True)
"""JSONB where Python ``None`` is SQL NULL (SQLAlchemy's default would store the JSON literal ``null``)."""

SCALAR_SCORE_KEY = ""
"""``score.key`` for scorers whose value is not a dict (one row per scorer)."""

MESSAGE_ROLES = ("system", "user", "assistant", "tool")
"""``ChatMessage.role`` values."""

SAMPLE_STATUS_SQL = (
    "CASE WHEN error_message IS NOT NULL THEN 'error' "
    "WHEN \"limit\" IS NOT NULL THEN \"limit\" || '_limit' ELSE 'success' END"
)
"""``sample.status``: ``error``, ``<limit kind>_limit`` (``message_limit``, ``token_limit``, ...) or ``success``."""

SAMPLE_IS_INVALID_SQL = (
    "invalidation_timestamp IS NOT NULL OR invalidation_author IS NOT NULL OR invalidation_reason IS NOT NULL"
)
"""``sample.is_invalid``: true when any invalidation field is set."""


MODEL_GROUPS_COMMENT = "Access groups a viewer must all hold (hawk_dagster.access); never empty"
MODEL_GROUPS_NOT_EMPTY_SQL = "cardinality(model_groups) > 0 AND array_position(model_groups, NULL) IS NULL"
"""An empty (or NULL-holding) requirement would read as "open to all" to a contained-by test: refused."""


def default_model_groups() -> list[str]:
    """What a row written without access groups requires: the default group (closed; ``hawk access refresh`` fixes
    it). Python-side only: the column has no server default, so SQL that forgets the column fails."""
    from hawk_dagster.access.settings import access_settings_from_env

    return [access_settings_from_env().default_group]


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (so migrations can name what they drop)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: TIMESTAMP(timezone=True),
        dict[str, Any]: JSON_TYPE,
        PyUUID: UUID(as_uuid=True),
        str: Text,
        int: Integer,
        float: Double,
        bool: Boolean,
    }


def table_of(model: type[Base]) -> Table:
    """A model's Core table, typed as one (``Model.__table__`` is typed as any FROM clause)."""
    return Base.metadata.tables[model.__tablename__]


def _pk() -> Mapped[PyUUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=text("now()"))


def _updated_at() -> Mapped[datetime]:
    # Upserts set it explicitly; onupdate covers ORM and Core UPDATEs.
    return mapped_column(server_default=text("now()"), onupdate=text("now()"))


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"{c}_non_negative") for c in columns]


class EvalSet(Base):
    """One row per submitted eval set: the registry the Dagster partition and the CLI point at."""

    __tablename__ = "eval_set"

    pk: Mapped[PyUUID] = _pk()
    eval_set_id: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str | None]
    config: Mapped[dict[str, Any] | None] = mapped_column(comment="Snapshot of the submitted eval-set config")
    created_by: Mapped[str | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    log_dir: Mapped[str | None] = mapped_column(
        comment="Where the eval set's logs live (local path or s3:// URI)"
    )
    last_imported_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # revision 0007
    model_groups: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=default_model_groups, comment=MODEL_GROUPS_COMMENT
    )
    # revision 0008
    deleted_at: Mapped[datetime | None] = mapped_column(
        comment="When hawk delete hid the eval set (NULL: not deleted)"
    )
    deleted_by: Mapped[str | None] = mapped_column(comment="Who deleted the eval set")

    evals: Mapped[list[Eval]] = relationship(back_populates="eval_set", passive_deletes=True)

    __table_args__ = (
        CheckConstraint("eval_set_id <> ''", name="eval_set_id_not_empty"),
        CheckConstraint(MODEL_GROUPS_NOT_EMPTY_SQL, name="model_groups_not_empty"),
        Index("ix_eval_set_model_groups", "model_groups", postgresql_using="gin"),
        Index("ix_eval_set_deleted", "eval_set_id", postgresql_where=text("deleted_at IS NOT NULL")),
    )


class Eval(Base):
    """One row per Inspect ``task_id`` within an eval set, from the newest log for that task."""

    __tablename__ = "eval"

    pk: Mapped[PyUUID] = _pk()
    eval_set_id: Mapped[str] = mapped_column(
        ForeignKey("eval_set.eval_set_id", ondelete="CASCADE", onupdate="CASCADE")
    )
    task_id: Mapped[str] = mapped_column(comment="Inspect task identifier: stable across resumed runs")
    eval_id: Mapped[str] = mapped_column(
        comment="Inspect eval_id of the imported log; changes when a run resumes"
    )
    run_id: Mapped[str | None]
    inspect_eval_set_id: Mapped[str | None] = mapped_column(
        comment="eval_set_id recorded by Inspect in the log"
    )
    task_name: Mapped[str]
    task_version: Mapped[str | None]
    task_file: Mapped[str | None]
    task_registry_name: Mapped[str | None]
    task_args: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    agent: Mapped[str | None] = mapped_column(
        comment="Solver/agent label: explicit solver, named plan or steps joined"
    )
    plan: Mapped[dict[str, Any] | None]
    model: Mapped[str]
    model_args: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    model_generate_config: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    model_roles: Mapped[dict[str, Any] | None]
    epochs: Mapped[int | None]
    status: Mapped[str]
    total_samples: Mapped[int | None]
    completed_samples: Mapped[int | None]
    log_created_at: Mapped[datetime | None] = mapped_column(comment="EvalSpec.created of the imported log")
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    error_message: Mapped[str | None]
    error_traceback: Mapped[str | None]
    location: Mapped[str] = mapped_column(comment="URI of the imported log file")
    file_hash: Mapped[str] = mapped_column(
        comment="sha256:<hex> of the file, or etag:<etag> for object stores"
    )
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    model_usage: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    headline_scorer: Mapped[str | None]
    headline_score: Mapped[str | None] = mapped_column(
        comment="Score name (dict key for dict-valued scorers)"
    )
    headline_metric: Mapped[str | None]
    headline_value: Mapped[float | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    imported_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # revision 0003
    config: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"),
        comment="EvalConfig of the log (limits, epochs, sandbox options, ...)",
    )
    message_limit: Mapped[int | None] = mapped_column(comment="Message limit per sample the eval ran with")
    token_limit: Mapped[int | None] = mapped_column(BigInteger, comment="Token limit per sample")
    time_limit_seconds: Mapped[int | None] = mapped_column(comment="Clock-time limit per sample")
    working_limit_seconds: Mapped[int | None] = mapped_column(comment="Working-time limit per sample")
    # revision 0010
    metrics: Mapped[Any] = mapped_column(
        JSON_TYPE,
        nullable=True,
        comment="The log's scores and their metrics: [{scorer, score, reducer, metrics: {name: value}}]",
    )

    eval_set: Mapped[EvalSet] = relationship(back_populates="evals")
    samples: Mapped[list[Sample]] = relationship(back_populates="eval", passive_deletes=True)

    __table_args__ = (
        UniqueConstraint("eval_set_id", "task_id"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in EVAL_STATUSES)})", name="status_valid"),
        *_non_negative("total_samples", "completed_samples", "epochs", "file_size_bytes"),
        *_non_negative("message_limit", "token_limit", "time_limit_seconds", "working_limit_seconds"),
        Index(None, "model"),
        Index(None, "status", "started_at"),
        Index(None, "created_at"),
        Index(
            "ix_eval_task_name_trgm",
            "task_name",
            postgresql_using="gin",
            postgresql_ops={"task_name": "gin_trgm_ops"},
        ),
        Index(
            "ix_eval_model_trgm", "model", postgresql_using="gin", postgresql_ops={"model": "gin_trgm_ops"}
        ),
    )


class Sample(Base):
    """One row per sample run (id x epoch) of an eval, keyed by Inspect's sample ``uuid``.

    The uuid is stable across resumed runs (reused samples keep it); a sample re-run after an error gets a new one.
    """

    __tablename__ = "sample"

    pk: Mapped[PyUUID] = _pk()
    eval_pk: Mapped[PyUUID] = mapped_column(ForeignKey("eval.pk", ondelete="CASCADE"))
    uuid: Mapped[str] = mapped_column(unique=True, comment="Inspect sample uuid (a ShortUUID, not a UUID)")
    id: Mapped[str] = mapped_column(comment="Dataset sample id, as text")
    epoch: Mapped[int]
    input: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    target: Mapped[Any] = mapped_column(JSON_TYPE, nullable=False)
    output: Mapped[str | None] = mapped_column(comment="Completion text of the final model output")
    input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    total_tokens: Mapped[int | None] = mapped_column(BigInteger)
    reasoning_tokens: Mapped[int | None] = mapped_column(BigInteger)
    input_tokens_cache_read: Mapped[int | None] = mapped_column(BigInteger)
    input_tokens_cache_write: Mapped[int | None] = mapped_column(BigInteger)
    total_time_seconds: Mapped[float | None]
    working_time_seconds: Mapped[float | None]
    message_count: Mapped[int | None]
    turn_count: Mapped[int | None]
    retries: Mapped[int | None] = mapped_column(comment="Failed attempts before this one (error_retries)")
    error_message: Mapped[str | None]
    error_traceback: Mapped[str | None]
    limit: Mapped[str | None] = mapped_column(
        comment="Kind of limit that ended the sample (message, token, ...)"
    )
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    model_usage: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # revision 0002
    action_count: Mapped[int | None] = mapped_column(comment="Tool calls made by the model")
    invalidation_timestamp: Mapped[datetime | None]
    invalidation_author: Mapped[str | None]
    invalidation_reason: Mapped[str | None]
    status: Mapped[str] = mapped_column(
        Computed(SAMPLE_STATUS_SQL, persisted=True),
        comment="error, <limit>_limit or success (generated from error_message and limit)",
    )
    is_invalid: Mapped[bool] = mapped_column(
        Computed(SAMPLE_IS_INVALID_SQL, persisted=True),
        comment="True when the sample was invalidated (generated from the invalidation fields)",
    )
    search_text: Mapped[str | None] = mapped_column(
        comment="What free-text search matches, in lower case: sample id, target, output and the whole transcript "
        "(message text, tool calls and their arguments, tool errors); the input when the sample has no messages"
    )
    # revision 0003
    headline_value: Mapped[float | None] = mapped_column(
        comment="value_float of the sample's headline score (a copy, for filters and sorts)"
    )
    limit_value: Mapped[float | None] = mapped_column(comment="Ceiling of the limit that ended the sample")
    message_limit: Mapped[int | None] = mapped_column(comment="Message limit the sample ran under")
    token_limit: Mapped[int | None] = mapped_column(BigInteger, comment="Token limit the sample ran under")
    token_limit_type: Mapped[str | None] = mapped_column(
        comment="Tokens the token limit meters (all, output, ...)"
    )
    token_limit_usage: Mapped[int | None] = mapped_column(
        BigInteger, comment="Usage metered by the token limit"
    )
    time_limit_seconds: Mapped[int | None] = mapped_column(comment="Clock-time limit the sample ran under")
    role_usage: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), comment="Token usage by model role"
    )

    eval: Mapped[Eval] = relationship(back_populates="samples")
    scores: Mapped[list[Score]] = relationship(back_populates="sample", passive_deletes=True)
    messages: Mapped[list[Message]] = relationship(
        back_populates="sample", passive_deletes=True, order_by="Message.message_order"
    )

    __table_args__ = (
        # Leading column eval_pk also serves "samples of an eval" lookups; no separate eval_pk index is needed.
        UniqueConstraint("eval_pk", "id", "epoch"),
        *_non_negative(
            "epoch",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "reasoning_tokens",
            "input_tokens_cache_read",
            "input_tokens_cache_write",
            "total_time_seconds",
            "working_time_seconds",
            "message_count",
            "turn_count",
            "retries",
            "action_count",
            "message_limit",
            "token_limit",
            "token_limit_usage",
            "time_limit_seconds",
        ),
        Index(None, "eval_pk", "completed_at"),
        Index(None, "eval_pk", "status"),
        # revision 0003: newest-first pages stop after one page of index entries; headline score filters and sorts
        Index("ix_sample_completed_at_pk", text("completed_at DESC NULLS LAST"), text("pk DESC")),
        Index(None, "headline_value"),
        Index("ix_sample_id_trgm", "id", postgresql_using="gin", postgresql_ops={"id": "gin_trgm_ops"}),
        Index(
            "ix_sample_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        # revision 0006: a search term matches a uuid by its start (LIKE 'prefix%' under any collation)
        Index("ix_sample_uuid_prefix", "uuid", postgresql_ops={"uuid": "text_pattern_ops"}),
        # revision 0010: invalidated samples per eval (few), counted by the eval-set page from the index alone
        Index("ix_sample_invalid_eval", "eval_pk", postgresql_where=text("is_invalid")),
    )


class Score(Base):
    """One row per (sample, scorer, key): dict-valued scores are exploded, scalar scores use ``key = ''``."""

    __tablename__ = "score"

    pk: Mapped[PyUUID] = _pk()
    sample_pk: Mapped[PyUUID] = mapped_column(ForeignKey("sample.pk", ondelete="CASCADE"))
    sample_uuid: Mapped[str]
    scorer: Mapped[str]
    key: Mapped[str] = mapped_column(
        server_default=text("''"), comment="Dict key of the score value; '' if scalar"
    )
    value: Mapped[Any] = mapped_column(JSON_TYPE, nullable=True, comment="Raw score value as logged")
    value_float: Mapped[float | None] = mapped_column(
        comment="Numeric value; NULL when the value is not numeric"
    )
    answer: Mapped[str | None]
    explanation: Mapped[str | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    is_headline: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # revision 0003
    scored_at: Mapped[datetime | None] = mapped_column(
        comment="Time of the sample's final score event for this scorer"
    )

    sample: Mapped[Sample] = relationship(back_populates="scores")

    __table_args__ = (
        UniqueConstraint("sample_pk", "scorer", "key"),
        Index(None, "scorer", "key"),
        Index(None, "sample_uuid"),
        # revision 0002: per-sample headline score without touching the heap (index-only scans), and score filters
        Index(
            "ix_score_headline",
            "sample_pk",
            postgresql_include=["value_float", "scorer"],
            postgresql_where=text("is_headline"),
        ),
        Index(None, "scorer", "value_float"),
    )


class Message(Base):
    """Every message of every sample's conversation (``EvalSample.messages``), in order.

    Replaced wholesale when its sample is re-imported, so the key is natural: (sample, position).
    """

    __tablename__ = "message"

    sample_pk: Mapped[PyUUID] = mapped_column(ForeignKey("sample.pk", ondelete="CASCADE"), primary_key=True)
    message_order: Mapped[int] = mapped_column(
        primary_key=True, comment="0-based position in the conversation"
    )
    message_id: Mapped[str | None] = mapped_column(comment="Inspect ChatMessage.id")
    role: Mapped[str]
    source: Mapped[str | None] = mapped_column(comment="input or generate")
    content_text: Mapped[str | None] = mapped_column(
        comment="Text parts joined by newlines (ChatMessage.text)"
    )
    content_reasoning: Mapped[str | None] = mapped_column(comment="Reasoning parts joined by newlines")
    tool_calls: Mapped[Any] = mapped_column(
        JSON_TYPE, nullable=True, comment="Assistant tool calls as logged"
    )
    tool_call_id: Mapped[str | None]
    tool_call_function: Mapped[str | None]
    tool_error_type: Mapped[str | None]
    tool_error_message: Mapped[str | None]
    model: Mapped[str | None] = mapped_column(comment="Model that generated an assistant message")

    sample: Mapped[Sample] = relationship(back_populates="messages")

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in MESSAGE_ROLES)})", name="role_valid"),
        CheckConstraint("message_order >= 0", name="message_order_non_negative"),
        # No text index here (revision 0003 dropped it): transcript search runs on sample.search_text, which holds
        # each transcript's text once per sample. See docs/ARCHITECTURE.md, "Transcript search".
    )


class SampleModel(Base):
    """Every model a sample called (``EvalSample.model_usage`` keys) plus its eval's model."""

    __tablename__ = "sample_model"

    sample_pk: Mapped[PyUUID] = mapped_column(ForeignKey("sample.pk", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(primary_key=True)

    __table_args__ = (Index(None, "model"),)


class ModelRole(Base):
    """The model roles an eval was run with (``EvalSpec.model_roles``)."""

    __tablename__ = "model_role"

    pk: Mapped[PyUUID] = _pk()
    eval_pk: Mapped[PyUUID] = mapped_column(ForeignKey("eval.pk", ondelete="CASCADE"))
    role: Mapped[str]
    model: Mapped[str]
    config: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), comment="GenerateConfig for the role"
    )
    base_url: Mapped[str | None]
    args: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    __table_args__ = (UniqueConstraint("eval_pk", "role"), Index(None, "model"))


# ---------------------------------------------------------------------------------------------------------------------
# Sample edits (revision 0009)

SAMPLE_EDIT_TYPES = ("score_edit", "invalidate_sample", "uninvalidate_sample")
"""``sample_edit.type`` values: the request format's edit types (``hawk_dagster.edits.request``)."""


class SampleEdit(Base):
    """The audit trail of ``hawk edit-samples``: one row per edit applied to a log, never updated or deleted.

    The log is the source of truth (scores' history and invalidations live in it); this table says who asked for
    what, when and why, across re-imports and re-runs. No foreign key to ``sample``: the audit outlives a sample
    that a later run replaces.
    """

    __tablename__ = "sample_edit"

    pk: Mapped[PyUUID] = _pk()
    request_id: Mapped[str] = mapped_column(
        comment="One edit-samples request: a hash of its author and edits"
    )
    author: Mapped[str]
    edited_at: Mapped[datetime] = mapped_column(
        comment="The edit's provenance timestamp, as written in the log"
    )
    sample_uuid: Mapped[str]
    eval_set_id: Mapped[str]
    task_id: Mapped[str | None]
    sample_id: Mapped[str | None] = mapped_column(comment="Dataset sample id, as text")
    epoch: Mapped[int | None]
    location: Mapped[str] = mapped_column(comment="The log file the edit was written to")
    type: Mapped[str]
    scorer: Mapped[str] = mapped_column(server_default=text("''"), comment="'' for sample-level edits")
    before: Mapped[Any] = mapped_column(JSON_TYPE, nullable=True, comment="The edited fields before the edit")
    after: Mapped[Any] = mapped_column(JSON_TYPE, nullable=True, comment="The edited fields after the edit")
    reason: Mapped[str | None]
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        UniqueConstraint("request_id", "sample_uuid", "type", "scorer"),
        CheckConstraint(f"type IN ({', '.join(repr(t) for t in SAMPLE_EDIT_TYPES)})", name="type_valid"),
        Index(None, "eval_set_id", "edited_at"),
        Index(None, "sample_uuid", "edited_at"),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Scans (revision 0004)


class Scan(Base):
    """One row per submitted scan (Inspect Scout scanners over earlier eval sets' transcripts)."""

    __tablename__ = "scan"

    pk: Mapped[PyUUID] = _pk()
    scan_id: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str | None]
    config: Mapped[dict[str, Any] | None] = mapped_column(comment="Snapshot of the submitted scan config")
    created_by: Mapped[str | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    standing: Mapped[bool] = mapped_column(server_default=text("false"))
    schedule: Mapped[str | None] = mapped_column(comment="Cron expression of scheduled re-runs")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()
    # revision 0007
    model_groups: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=default_model_groups, comment=MODEL_GROUPS_COMMENT
    )

    __table_args__ = (
        CheckConstraint(MODEL_GROUPS_NOT_EMPTY_SQL, name="model_groups_not_empty"),
        Index("ix_scan_model_groups", "model_groups", postgresql_using="gin"),
    )


class ScanSource(Base):
    """Which eval set a scan read, with which model, from which ``eval_logs`` materialisation, and how far it got."""

    __tablename__ = "scan_source"

    pk: Mapped[PyUUID] = _pk()
    scan_pk: Mapped[PyUUID] = mapped_column(ForeignKey("scan.pk", ondelete="CASCADE"))
    eval_set_id: Mapped[str]
    model: Mapped[str] = mapped_column(server_default=text("''"), comment="Scan model; '' when none")
    location: Mapped[str] = mapped_column(comment="Scout's scan folder (scan_id=...)")
    scout_scan_id: Mapped[str | None] = mapped_column(comment="Scout's own id of the scan")
    complete: Mapped[bool]
    transcripts: Mapped[int | None] = mapped_column(comment="Transcripts the scan covered")
    eval_logs_run_id: Mapped[str | None] = mapped_column(
        comment="Dagster run that materialised the eval_logs partition the scan read"
    )
    eval_logs_data_version: Mapped[str | None] = mapped_column(
        comment="Data version of that eval_logs materialisation"
    )
    imported_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    __table_args__ = (UniqueConstraint("scan_pk", "eval_set_id", "model"), Index(None, "eval_set_id"))


class ScannerResult(Base):
    """One row per scanner result: a transcript (sample) x scanner key x label, with the value raw and normalised."""

    __tablename__ = "scanner_result"

    pk: Mapped[PyUUID] = _pk()
    scan_pk: Mapped[PyUUID] = mapped_column(ForeignKey("scan.pk", ondelete="CASCADE"))
    scan_source_pk: Mapped[PyUUID] = mapped_column(ForeignKey("scan_source.pk", ondelete="CASCADE"))
    sample_pk: Mapped[PyUUID | None] = mapped_column(
        ForeignKey("sample.pk", ondelete="SET NULL"),
        comment="The scanned sample, when the warehouse holds it",
    )
    transcript_id: Mapped[str] = mapped_column(comment="Scout transcript id = Inspect sample uuid")
    result_uuid: Mapped[str | None] = mapped_column(comment="Scout's id of the result")
    scanner_key: Mapped[str]
    scanner_name: Mapped[str | None]
    label: Mapped[str | None] = mapped_column(comment="Label of one result of a scanner that returns several")
    value: Mapped[Any] = mapped_column(JSON_TYPE, nullable=True, comment="Value as the scanner returned it")
    value_type: Mapped[str | None]
    value_float: Mapped[float | None] = mapped_column(
        comment="Numeric value; NULL when it has no numeric meaning"
    )
    answer: Mapped[str | None]
    explanation: Mapped[str | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(
        comment="The scanner's error on this transcript (no value then)"
    )
    error_type: Mapped[str | None]
    total_tokens: Mapped[int | None] = mapped_column(BigInteger)
    model_usage: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    scanned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        Index(None, "sample_pk", "scanner_key"),
        Index(None, "scan_pk", "scanner_key"),
        Index(None, "scan_source_pk"),
        Index(None, "transcript_id"),
    )
