"""The audit trail of ``hawk edit-samples``: ``sample_edit``, one row per edit applied to a log.

The log holds the edit itself (Inspect's score history and invalidation); this table records who asked, when, why,
and the edited fields before and after, across re-imports. ``UNIQUE(request_id, sample_uuid, type, scorer)`` lets a
re-run of the same request record only what is missing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "sample_edit",
        sa.Column("pk", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "request_id", sa.Text(), nullable=False, comment="One edit-samples request: a hash of its author and edits"
        ),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column(
            "edited_at",
            postgresql.TIMESTAMP(timezone=True),
            nullable=False,
            comment="The edit's provenance timestamp, as written in the log",
        ),
        sa.Column("sample_uuid", sa.Text(), nullable=False),
        sa.Column("eval_set_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("sample_id", sa.Text(), nullable=True, comment="Dataset sample id, as text"),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False, comment="The log file the edit was written to"),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column(
            "scorer", sa.Text(), server_default=sa.text("''"), nullable=False, comment="'' for sample-level edits"
        ),
        sa.Column("before", JSON, nullable=True, comment="The edited fields before the edit"),
        sa.Column("after", JSON, nullable=True, comment="The edited fields after the edit"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "type IN ('score_edit', 'invalidate_sample', 'uninvalidate_sample')",
            name=op.f("ck_sample_edit_type_valid"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_sample_edit")),
        sa.UniqueConstraint(
            "request_id",
            "sample_uuid",
            "type",
            "scorer",
            name=op.f("uq_sample_edit_request_id_sample_uuid_type_scorer"),
        ),
    )
    op.create_index(
        op.f("ix_sample_edit_eval_set_id_edited_at"), "sample_edit", ["eval_set_id", "edited_at"], unique=False
    )
    op.create_index(
        op.f("ix_sample_edit_sample_uuid_edited_at"), "sample_edit", ["sample_uuid", "edited_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sample_edit_sample_uuid_edited_at"), table_name="sample_edit")
    op.drop_index(op.f("ix_sample_edit_eval_set_id_edited_at"), table_name="sample_edit")
    op.drop_table("sample_edit")
