"""Transcripts and search: message, sample_model, model_role; generated sample status/is_invalid; search indexes.

- ``message``: every message of every sample, keyed by (sample_pk, message_order), with a trigram GIN index on
  ``content_text`` for transcript search (ILIKE '%...%').
- ``sample_model`` (every model a sample called) and ``model_role`` (the eval's model roles).
- ``sample``: ``action_count``, invalidation fields, generated ``status`` and ``is_invalid``, ``search_text`` with a
  trigram GIN index, and an (eval_pk, status) index for status filters and counts.
- ``score``: a partial covering index for the per-sample headline score, and (scorer, value_float) for score filters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 21:31:41.431997
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAMPLE_STATUS_SQL = (
    "CASE WHEN error_message IS NOT NULL THEN 'error' "
    "WHEN \"limit\" IS NOT NULL THEN \"limit\" || '_limit' ELSE 'success' END"
)
SAMPLE_IS_INVALID_SQL = (
    "invalidation_timestamp IS NOT NULL OR invalidation_author IS NOT NULL OR invalidation_reason IS NOT NULL"
)


def _jsonb() -> postgresql.JSONB:
    return postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "model_role",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("eval_pk", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column(
            "config",
            _jsonb(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="GenerateConfig for the role",
        ),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("args", _jsonb(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["eval_pk"], ["eval.pk"], name=op.f("fk_model_role_eval_pk_eval"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_model_role")),
        sa.UniqueConstraint("eval_pk", "role", name=op.f("uq_model_role_eval_pk_role")),
    )
    op.create_index(op.f("ix_model_role_model"), "model_role", ["model"], unique=False)

    op.create_table(
        "message",
        sa.Column("sample_pk", sa.UUID(), nullable=False),
        sa.Column(
            "message_order", sa.Integer(), nullable=False, comment="0-based position in the conversation"
        ),
        sa.Column("message_id", sa.Text(), nullable=True, comment="Inspect ChatMessage.id"),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True, comment="input or generate"),
        sa.Column(
            "content_text",
            sa.Text(),
            nullable=True,
            comment="Text parts joined by newlines (ChatMessage.text)",
        ),
        sa.Column("content_reasoning", sa.Text(), nullable=True, comment="Reasoning parts joined by newlines"),
        sa.Column("tool_calls", _jsonb(), nullable=True, comment="Assistant tool calls as logged"),
        sa.Column("tool_call_id", sa.Text(), nullable=True),
        sa.Column("tool_call_function", sa.Text(), nullable=True),
        sa.Column("tool_error_type", sa.Text(), nullable=True),
        sa.Column("tool_error_message", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True, comment="Model that generated an assistant message"),
        sa.CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')", name=op.f("ck_message_role_valid")
        ),
        sa.CheckConstraint("message_order >= 0", name=op.f("ck_message_message_order_non_negative")),
        sa.ForeignKeyConstraint(
            ["sample_pk"], ["sample.pk"], name=op.f("fk_message_sample_pk_sample"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sample_pk", "message_order", name=op.f("pk_message")),
    )
    op.create_index(
        "ix_message_content_text_trgm",
        "message",
        ["content_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"content_text": "gin_trgm_ops"},
    )

    op.create_table(
        "sample_model",
        sa.Column("sample_pk", sa.UUID(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_pk"], ["sample.pk"], name=op.f("fk_sample_model_sample_pk_sample"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sample_pk", "model", name=op.f("pk_sample_model")),
    )
    op.create_index(op.f("ix_sample_model_model"), "sample_model", ["model"], unique=False)

    op.add_column(
        "sample", sa.Column("action_count", sa.Integer(), nullable=True, comment="Tool calls made by the model")
    )
    op.create_check_constraint(
        op.f("ck_sample_action_count_non_negative"), "sample", "action_count IS NULL OR action_count >= 0"
    )
    op.add_column("sample", sa.Column("invalidation_timestamp", postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.add_column("sample", sa.Column("invalidation_author", sa.Text(), nullable=True))
    op.add_column("sample", sa.Column("invalidation_reason", sa.Text(), nullable=True))
    op.add_column(
        "sample",
        sa.Column(
            "status",
            sa.Text(),
            sa.Computed(SAMPLE_STATUS_SQL, persisted=True),
            nullable=False,
            comment="error, <limit>_limit or success (generated from error_message and limit)",
        ),
    )
    op.add_column(
        "sample",
        sa.Column(
            "is_invalid",
            sa.Boolean(),
            sa.Computed(SAMPLE_IS_INVALID_SQL, persisted=True),
            nullable=False,
            comment="True when the sample was invalidated (generated from the invalidation fields)",
        ),
    )
    op.add_column(
        "sample",
        sa.Column(
            "search_text",
            sa.Text(),
            nullable=True,
            comment="Sample id, input text, target and output completion: what free-text sample search matches",
        ),
    )
    op.create_index(op.f("ix_sample_eval_pk_status"), "sample", ["eval_pk", "status"], unique=False)
    op.create_index(
        "ix_sample_search_text_trgm",
        "sample",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )

    op.create_index(
        "ix_score_headline",
        "score",
        ["sample_pk"],
        unique=False,
        postgresql_include=["value_float", "scorer"],
        postgresql_where=sa.text("is_headline"),
    )
    op.create_index(op.f("ix_score_scorer_value_float"), "score", ["scorer", "value_float"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_score_scorer_value_float"), table_name="score")
    op.drop_index("ix_score_headline", table_name="score")
    op.drop_index("ix_sample_search_text_trgm", table_name="sample")
    op.drop_index(op.f("ix_sample_eval_pk_status"), table_name="sample")
    for column in (
        "search_text",
        "is_invalid",
        "status",
        "invalidation_reason",
        "invalidation_author",
        "invalidation_timestamp",
        "action_count",  # drops its check constraint too
    ):
        op.drop_column("sample", column)
    op.drop_table("sample_model")
    op.drop_table("message")
    op.drop_table("model_role")
