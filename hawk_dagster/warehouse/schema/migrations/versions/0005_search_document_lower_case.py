"""The search document in lower case: searches match it with LIKE instead of ILIKE (about 4x cheaper to check).

Rows imported before this revision are lower-cased here with PostgreSQL's ``lower()``; new imports lower-case in
Python (``schema.search.search_key``), as the queries do with the search term.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMENT_0003 = (
    "What free-text search matches: sample id, target, output and the whole transcript (message text, "
    "tool calls and their arguments, tool errors); the input when the sample has no messages"
)
_COMMENT = (
    "What free-text search matches, in lower case: sample id, target, output and the whole transcript "
    "(message text, tool calls and their arguments, tool errors); the input when the sample has no messages"
)


def upgrade() -> None:
    op.execute("UPDATE sample SET search_text = lower(search_text) WHERE search_text <> lower(search_text)")
    op.alter_column(
        "sample", "search_text", existing_type=sa.Text(), existing_nullable=True, comment=_COMMENT,
        existing_comment=_COMMENT_0003,
    )  # fmt: skip


def downgrade() -> None:
    # The original case cannot be recovered; searches before 0005 were case-insensitive, so they still match.
    op.alter_column(
        "sample", "search_text", existing_type=sa.Text(), existing_nullable=True, comment=_COMMENT_0003,
        existing_comment=_COMMENT,
    )  # fmt: skip
