"""One search document per sample; limit ceilings, role usage, headline copy, scored_at; index for newest-first pages.

- ``sample.search_text`` now also holds the transcript (message text, tool calls with their arguments, tool
  errors), and the trigram index on ``message.content_text`` is dropped: one GIN entry per distinct trigram per
  *sample* instead of per *message* made imports ~2x faster, and a search is one index lookup instead of a union.
  Rows imported before this revision get their transcript text appended here, from ``message``.
- ``sample.headline_value`` copies the headline score's ``value_float`` (filled here for existing rows), indexed.
- ``sample (completed_at DESC NULLS LAST, pk DESC)``: the default newest-first listing reads one page of index.
- Limit ceilings the sample ran under, the ceiling that ended it, usage by model role; the eval's ``EvalConfig``
  and its per-sample limits; ``score.scored_at`` from the score events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 23:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVAL_LIMITS = ("message_limit", "token_limit", "time_limit_seconds", "working_limit_seconds")
_SAMPLE_LIMITS = ("message_limit", "token_limit", "token_limit_usage", "time_limit_seconds")

# Transcript text of samples imported before 0003, as the importer composes it (schema.search.search_document), except that
# tool calls appear as their JSON text.
_BACKFILL_SEARCH_TEXT = """
UPDATE sample AS s SET search_text = concat_ws(E'\\n', s.search_text, m.doc)
FROM (
    SELECT sample_pk,
           string_agg(concat_ws(E'\\n', content_text, tool_calls::text, tool_error_message), E'\\n'
                      ORDER BY message_order) AS doc
    FROM message GROUP BY sample_pk
) AS m
WHERE m.sample_pk = s.pk
"""

_BACKFILL_HEADLINE = """
UPDATE sample AS s SET headline_value = sc.value_float
FROM score AS sc WHERE sc.sample_pk = s.pk AND sc.is_headline
"""


def _jsonb_object(name: str, comment: str) -> sa.Column:
    return sa.Column(
        name,
        postgresql.JSONB(astext_type=sa.Text()),
        server_default=sa.text("'{}'::jsonb"),
        nullable=False,
        comment=comment,
    )


def _non_negative(table: str, columns: Sequence[str]) -> None:
    for column in columns:
        op.create_check_constraint(
            op.f(f"ck_{table}_{column}_non_negative"), table, f"{column} IS NULL OR {column} >= 0"
        )


def upgrade() -> None:
    op.add_column("eval", _jsonb_object("config", "EvalConfig of the log (limits, epochs, sandbox options, ...)"))
    op.add_column(
        "eval", sa.Column("message_limit", sa.Integer(), nullable=True, comment="Message limit per sample the eval ran with")
    )
    op.add_column("eval", sa.Column("token_limit", sa.BigInteger(), nullable=True, comment="Token limit per sample"))
    op.add_column(
        "eval", sa.Column("time_limit_seconds", sa.Integer(), nullable=True, comment="Clock-time limit per sample")
    )
    op.add_column(
        "eval",
        sa.Column("working_limit_seconds", sa.Integer(), nullable=True, comment="Working-time limit per sample"),
    )
    _non_negative("eval", _EVAL_LIMITS)

    op.add_column(
        "sample",
        sa.Column(
            "headline_value",
            sa.Double(),
            nullable=True,
            comment="value_float of the sample's headline score (a copy, for filters and sorts)",
        ),
    )
    op.add_column(
        "sample",
        sa.Column("limit_value", sa.Double(), nullable=True, comment="Ceiling of the limit that ended the sample"),
    )
    op.add_column(
        "sample",
        sa.Column("message_limit", sa.Integer(), nullable=True, comment="Message limit the sample ran under"),
    )
    op.add_column(
        "sample",
        sa.Column("token_limit", sa.BigInteger(), nullable=True, comment="Token limit the sample ran under"),
    )
    op.add_column(
        "sample",
        sa.Column(
            "token_limit_type", sa.Text(), nullable=True, comment="Tokens the token limit meters (all, output, ...)"
        ),
    )
    op.add_column(
        "sample",
        sa.Column(
            "token_limit_usage", sa.BigInteger(), nullable=True, comment="Usage metered by the token limit"
        ),
    )
    op.add_column(
        "sample",
        sa.Column(
            "time_limit_seconds", sa.Integer(), nullable=True, comment="Clock-time limit the sample ran under"
        ),
    )
    op.add_column("sample", _jsonb_object("role_usage", "Token usage by model role"))
    _non_negative("sample", _SAMPLE_LIMITS)
    op.alter_column(
        "sample",
        "search_text",
        existing_type=sa.Text(),
        existing_nullable=True,
        comment="What free-text search matches: sample id, target, output and the whole transcript (message text, "
        "tool calls and their arguments, tool errors); the input when the sample has no messages",
        existing_comment="Sample id, input text, target and output completion: what free-text sample search matches",
    )

    op.add_column(
        "score",
        sa.Column(
            "scored_at",
            postgresql.TIMESTAMP(timezone=True),
            nullable=True,
            comment="Time of the sample's final score event for this scorer",
        ),
    )

    op.execute(_BACKFILL_SEARCH_TEXT)
    op.execute(_BACKFILL_HEADLINE)
    op.drop_index("ix_message_content_text_trgm", table_name="message")
    op.create_index(
        "ix_sample_completed_at_pk",
        "sample",
        [sa.text("completed_at DESC NULLS LAST"), sa.text("pk DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_sample_headline_value"), "sample", ["headline_value"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sample_headline_value"), table_name="sample")
    op.drop_index("ix_sample_completed_at_pk", table_name="sample")
    op.create_index(
        "ix_message_content_text_trgm",
        "message",
        ["content_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"content_text": "gin_trgm_ops"},
    )
    # search_text keeps the transcript text: 0002's search finds the same samples, only through a longer document.
    op.alter_column(
        "sample",
        "search_text",
        existing_type=sa.Text(),
        existing_nullable=True,
        comment="Sample id, input text, target and output completion: what free-text sample search matches",
    )
    op.drop_column("score", "scored_at")
    for column in ("role_usage", "time_limit_seconds", "token_limit_usage", "token_limit_type", "token_limit",
                   "message_limit", "limit_value", "headline_value"):  # fmt: skip
        op.drop_column("sample", column)  # drops its check constraint too
    for column in ("working_limit_seconds", "time_limit_seconds", "token_limit", "message_limit", "config"):
        op.drop_column("eval", column)
