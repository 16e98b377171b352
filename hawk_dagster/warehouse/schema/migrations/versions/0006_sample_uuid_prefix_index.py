"""An index for sample uuid prefixes: ``hawk list samples --search`` matches a uuid, whole or by its start.

``uuid LIKE 'prefix%'`` can use a plain btree index only under the C collation; ``text_pattern_ops`` makes it usable
under any database collation, so a search that ORs the uuid prefix with the trigram search stays a bitmap OR of two
index scans instead of a scan of every sample.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sample_uuid_prefix", "sample", ["uuid"], postgresql_ops={"uuid": "text_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_sample_uuid_prefix", table_name="sample")
