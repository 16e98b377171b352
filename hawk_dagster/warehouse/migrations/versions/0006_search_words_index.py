"""The search index on the document's distinct tokens (``sample.search_words``) instead of the whole document.

Same trigram set, less than half the text to extract it from on every import (see ``warehouse/search.py``). Rows
imported earlier get their tokens here, split on exactly the characters Python's ``str.split`` splits on, as the
importer does; this reads every search document once (about 3 minutes per million samples on 2 cores).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration must not change when the application's code does.
_SEPARATORS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPLIT = "[" + "".join(f"\\u{ord(c):04x}" for c in _SEPARATORS) + "]+"
_COMMENT = (
    "The search document's whitespace-separated tokens, each once: what its trigram index is built on "
    "(the same trigrams, from less text); revision 0006"
)


def upgrade() -> None:
    op.add_column("sample", sa.Column("search_words", sa.Text(), nullable=True, comment=_COMMENT))
    op.execute(
        sa.text(
            "UPDATE sample SET search_words = ' ' || coalesce((SELECT string_agg(DISTINCT token, ' ') "
            "FROM regexp_split_to_table(search_text, :split) AS token WHERE token <> ''), '') || ' ' "
            "WHERE search_text IS NOT NULL"
        ).bindparams(split=_SPLIT)
    )
    op.drop_index("ix_sample_search_text_trgm", table_name="sample")
    op.create_index(
        "ix_sample_search_words_trgm",
        "sample",
        ["search_words"],
        postgresql_using="gin",
        postgresql_ops={"search_words": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_sample_search_words_trgm", table_name="sample")
    op.create_index(
        "ix_sample_search_text_trgm",
        "sample",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.drop_column("sample", "search_words")
