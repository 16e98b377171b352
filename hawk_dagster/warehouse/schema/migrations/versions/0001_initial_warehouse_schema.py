"""Initial warehouse schema: pg_trgm, eval_set, eval, sample, score.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 20:24:07.453663
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram indexes below need the operator class; IF NOT EXISTS because the embedded bootstrap (or a DBA on a
    # managed server, where creating extensions may need elevated rights) may have created it already.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "eval_set",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("eval_set_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "config",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="Snapshot of the submitted eval-set config",
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "log_dir",
            sa.Text(),
            nullable=True,
            comment="Where the eval set's logs live (local path or s3:// URI)",
        ),
        sa.Column("last_imported_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("eval_set_id <> ''", name=op.f("ck_eval_set_eval_set_id_not_empty")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_eval_set")),
        sa.UniqueConstraint("eval_set_id", name=op.f("uq_eval_set_eval_set_id")),
    )
    op.create_table(
        "eval",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("eval_set_id", sa.Text(), nullable=False),
        sa.Column(
            "task_id",
            sa.Text(),
            nullable=False,
            comment="Inspect task identifier: stable across resumed runs",
        ),
        sa.Column(
            "eval_id",
            sa.Text(),
            nullable=False,
            comment="Inspect eval_id of the imported log; changes when a run resumes",
        ),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column(
            "inspect_eval_set_id",
            sa.Text(),
            nullable=True,
            comment="eval_set_id recorded by Inspect in the log",
        ),
        sa.Column("task_name", sa.Text(), nullable=False),
        sa.Column("task_version", sa.Text(), nullable=True),
        sa.Column("task_file", sa.Text(), nullable=True),
        sa.Column("task_registry_name", sa.Text(), nullable=True),
        sa.Column(
            "task_args",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "agent",
            sa.Text(),
            nullable=True,
            comment="Solver/agent label: explicit solver, named plan or steps joined",
        ),
        sa.Column("plan", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column(
            "model_args",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "model_generate_config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("model_roles", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("epochs", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("total_samples", sa.Integer(), nullable=True),
        sa.Column("completed_samples", sa.Integer(), nullable=True),
        sa.Column(
            "log_created_at",
            postgresql.TIMESTAMP(timezone=True),
            nullable=True,
            comment="EvalSpec.created of the imported log",
        ),
        sa.Column("started_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("completed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_traceback", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False, comment="URI of the imported log file"),
        sa.Column(
            "file_hash",
            sa.Text(),
            nullable=False,
            comment="sha256:<hex> of the file, or etag:<etag> for object stores",
        ),
        sa.Column("file_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column(
            "model_usage",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("headline_scorer", sa.Text(), nullable=True),
        sa.Column(
            "headline_score",
            sa.Text(),
            nullable=True,
            comment="Score name (dict key for dict-valued scorers)",
        ),
        sa.Column("headline_metric", sa.Text(), nullable=True),
        sa.Column("headline_value", sa.Double(), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "imported_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('started', 'success', 'cancelled', 'error')", name=op.f("ck_eval_status_valid")
        ),
        sa.CheckConstraint(
            "completed_samples IS NULL OR completed_samples >= 0",
            name=op.f("ck_eval_completed_samples_non_negative"),
        ),
        sa.CheckConstraint("epochs IS NULL OR epochs >= 0", name=op.f("ck_eval_epochs_non_negative")),
        sa.CheckConstraint(
            "file_size_bytes IS NULL OR file_size_bytes >= 0",
            name=op.f("ck_eval_file_size_bytes_non_negative"),
        ),
        sa.CheckConstraint(
            "total_samples IS NULL OR total_samples >= 0", name=op.f("ck_eval_total_samples_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["eval_set_id"],
            ["eval_set.eval_set_id"],
            name=op.f("fk_eval_eval_set_id_eval_set"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_eval")),
        sa.UniqueConstraint("eval_set_id", "task_id", name=op.f("uq_eval_eval_set_id_task_id")),
    )
    op.create_index(op.f("ix_eval_created_at"), "eval", ["created_at"], unique=False)
    op.create_index(op.f("ix_eval_model"), "eval", ["model"], unique=False)
    op.create_index(
        "ix_eval_model_trgm",
        "eval",
        ["model"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"model": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_eval_status_started_at"), "eval", ["status", "started_at"], unique=False)
    op.create_index(
        "ix_eval_task_name_trgm",
        "eval",
        ["task_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"task_name": "gin_trgm_ops"},
    )
    op.create_table(
        "sample",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("eval_pk", sa.UUID(), nullable=False),
        sa.Column("uuid", sa.Text(), nullable=False, comment="Inspect sample uuid (a ShortUUID, not a UUID)"),
        sa.Column("id", sa.Text(), nullable=False, comment="Dataset sample id, as text"),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("target", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("output", sa.Text(), nullable=True, comment="Completion text of the final model output"),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("output_tokens", sa.BigInteger(), nullable=True),
        sa.Column("total_tokens", sa.BigInteger(), nullable=True),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=True),
        sa.Column("input_tokens_cache_read", sa.BigInteger(), nullable=True),
        sa.Column("input_tokens_cache_write", sa.BigInteger(), nullable=True),
        sa.Column("total_time_seconds", sa.Double(), nullable=True),
        sa.Column("working_time_seconds", sa.Double(), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=True),
        sa.Column("turn_count", sa.Integer(), nullable=True),
        sa.Column(
            "retries", sa.Integer(), nullable=True, comment="Failed attempts before this one (error_retries)"
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_traceback", sa.Text(), nullable=True),
        sa.Column(
            "limit",
            sa.Text(),
            nullable=True,
            comment="Kind of limit that ended the sample (message, token, ...)",
        ),
        sa.Column("started_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("completed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "model_usage",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("epoch IS NULL OR epoch >= 0", name=op.f("ck_sample_epoch_non_negative")),
        sa.CheckConstraint(
            "input_tokens IS NULL OR input_tokens >= 0", name=op.f("ck_sample_input_tokens_non_negative")
        ),
        sa.CheckConstraint(
            "input_tokens_cache_read IS NULL OR input_tokens_cache_read >= 0",
            name=op.f("ck_sample_input_tokens_cache_read_non_negative"),
        ),
        sa.CheckConstraint(
            "input_tokens_cache_write IS NULL OR input_tokens_cache_write >= 0",
            name=op.f("ck_sample_input_tokens_cache_write_non_negative"),
        ),
        sa.CheckConstraint(
            "message_count IS NULL OR message_count >= 0", name=op.f("ck_sample_message_count_non_negative")
        ),
        sa.CheckConstraint(
            "output_tokens IS NULL OR output_tokens >= 0", name=op.f("ck_sample_output_tokens_non_negative")
        ),
        sa.CheckConstraint(
            "reasoning_tokens IS NULL OR reasoning_tokens >= 0",
            name=op.f("ck_sample_reasoning_tokens_non_negative"),
        ),
        sa.CheckConstraint("retries IS NULL OR retries >= 0", name=op.f("ck_sample_retries_non_negative")),
        sa.CheckConstraint(
            "total_time_seconds IS NULL OR total_time_seconds >= 0",
            name=op.f("ck_sample_total_time_seconds_non_negative"),
        ),
        sa.CheckConstraint(
            "total_tokens IS NULL OR total_tokens >= 0", name=op.f("ck_sample_total_tokens_non_negative")
        ),
        sa.CheckConstraint(
            "turn_count IS NULL OR turn_count >= 0", name=op.f("ck_sample_turn_count_non_negative")
        ),
        sa.CheckConstraint(
            "working_time_seconds IS NULL OR working_time_seconds >= 0",
            name=op.f("ck_sample_working_time_seconds_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["eval_pk"], ["eval.pk"], name=op.f("fk_sample_eval_pk_eval"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_sample")),
        sa.UniqueConstraint("eval_pk", "id", "epoch", name=op.f("uq_sample_eval_pk_id_epoch")),
        sa.UniqueConstraint("uuid", name=op.f("uq_sample_uuid")),
    )
    op.create_index(
        op.f("ix_sample_eval_pk_completed_at"), "sample", ["eval_pk", "completed_at"], unique=False
    )
    op.create_index(
        "ix_sample_id_trgm",
        "sample",
        ["id"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"id": "gin_trgm_ops"},
    )
    op.create_table(
        "score",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("sample_pk", sa.UUID(), nullable=False),
        sa.Column("sample_uuid", sa.Text(), nullable=False),
        sa.Column("scorer", sa.Text(), nullable=False),
        sa.Column(
            "key",
            sa.Text(),
            server_default=sa.text("''"),
            nullable=False,
            comment="Dict key of the score value; '' if scalar",
        ),
        sa.Column(
            "value",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="Raw score value as logged",
        ),
        sa.Column(
            "value_float",
            sa.Double(),
            nullable=True,
            comment="Numeric value; NULL when the value is not numeric",
        ),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("is_headline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["sample_pk"], ["sample.pk"], name=op.f("fk_score_sample_pk_sample"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_score")),
        sa.UniqueConstraint("sample_pk", "scorer", "key", name=op.f("uq_score_sample_pk_scorer_key")),
    )
    op.create_index(op.f("ix_score_sample_uuid"), "score", ["sample_uuid"], unique=False)
    op.create_index(op.f("ix_score_scorer_key"), "score", ["scorer", "key"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints. pg_trgm stays: it is database-wide, cheap, and other
    # objects (or a later re-upgrade) may rely on it.
    op.drop_table("score")
    op.drop_table("sample")
    op.drop_table("eval")
    op.drop_table("eval_set")
