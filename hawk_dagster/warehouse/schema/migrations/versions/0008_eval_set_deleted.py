"""Deleted eval sets: ``hawk delete`` marks the row (who, when) instead of removing it, so listings hide it while its
samples, scores and logs stay for audit and an administrator can still list them (``--include-deleted``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "eval_set",
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When hawk delete hid the eval set (NULL: not deleted)",
        ),
    )
    op.add_column(
        "eval_set", sa.Column("deleted_by", sa.Text(), nullable=True, comment="Who deleted the eval set")
    )
    # Listings leave deleted eval sets out; the few deleted ones are found through this small index.
    op.create_index(
        "ix_eval_set_deleted", "eval_set", ["eval_set_id"], postgresql_where=sa.text("deleted_at IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_eval_set_deleted", table_name="eval_set")
    op.drop_column("eval_set", "deleted_by")
    op.drop_column("eval_set", "deleted_at")
