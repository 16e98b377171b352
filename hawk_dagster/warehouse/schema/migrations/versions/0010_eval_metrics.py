"""Every metric of every score of a log (``EvalResults.scores``), so the results pages can show a metric's stderr
(the compare page's confidence interval) and each scorer's own headline, as Inspect computed them.

NULL for evals imported before this revision: their next import fills it (the pages then show no interval).
Also a partial index of invalidated samples by eval, so the eval-set page counts them without reading sample rows.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "eval",
        sa.Column(
            "metrics",
            postgresql.JSONB(none_as_null=True, astext_type=sa.Text()),
            nullable=True,
            comment="The log's scores and their metrics: [{scorer, score, reducer, metrics: {name: value}}]",
        ),
    )
    op.create_index("ix_sample_invalid_eval", "sample", ["eval_pk"], postgresql_where=sa.text("is_invalid"))


def downgrade() -> None:
    op.drop_index("ix_sample_invalid_eval", table_name="sample")
    op.drop_column("eval", "metrics")
