"""Access groups on eval sets and scans: ``model_groups text[] NOT NULL`` (never empty), GIN indexed.

Every read a signed-in user makes filters on ``model_groups <@ <groups they hold>`` (``hawk_dagster.access.policy``),
which a GIN index serves. Existing rows are backfilled with the default group (``HAWK_DEFAULT_MODEL_GROUP``, else
``restricted``): the model-groups file lives in the storage root, which a migration does not read, so rows start
closed (administrators only) until ``hawk access refresh`` (also run when the server starts) computes their groups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = "Access groups a viewer must all hold (hawk_dagster.access); never empty"
NOT_EMPTY = "cardinality(model_groups) > 0 AND array_position(model_groups, NULL) IS NULL"


def upgrade() -> None:
    from hawk_dagster.access.settings import access_settings_from_env

    default_group = access_settings_from_env().default_group
    for table in ("eval_set", "scan"):
        op.add_column(
            table,
            sa.Column("model_groups", postgresql.ARRAY(sa.Text()), nullable=True, comment=COMMENT),
        )
        op.execute(
            sa.text(f"UPDATE {table} SET model_groups = ARRAY[:group]::text[]").bindparams(group=default_group)
        )
        op.alter_column(table, "model_groups", nullable=False, existing_comment=COMMENT)
        op.create_check_constraint("model_groups_not_empty", table, NOT_EMPTY)
        op.create_index(f"ix_{table}_model_groups", table, ["model_groups"], postgresql_using="gin")


def downgrade() -> None:
    for table in ("scan", "eval_set"):
        op.drop_index(f"ix_{table}_model_groups", table_name=table)
        op.drop_constraint(op.f(f"ck_{table}_model_groups_not_empty"), table, type_="check")
        op.drop_column(table, "model_groups")
