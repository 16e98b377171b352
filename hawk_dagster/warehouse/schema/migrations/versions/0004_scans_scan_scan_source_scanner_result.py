"""Scans: ``scan`` (one per submitted scan), ``scan_source`` (which eval set and eval_logs materialisation each scan cell
read), ``scanner_result`` (every scanner result, joined to ``sample`` by transcript id = sample uuid).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 23:20:22.991204
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scan',
    sa.Column('pk', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('scan_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('config', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True, comment='Snapshot of the submitted scan config'),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('metadata', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('standing', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('schedule', sa.Text(), nullable=True, comment='Cron expression of scheduled re-runs'),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_scan')),
    sa.UniqueConstraint('scan_id', name=op.f('uq_scan_scan_id'))
    )
    op.create_table('scan_source',
    sa.Column('pk', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('scan_pk', sa.UUID(), nullable=False),
    sa.Column('eval_set_id', sa.Text(), nullable=False),
    sa.Column('model', sa.Text(), server_default=sa.text("''"), nullable=False, comment="Scan model; '' when none"),
    sa.Column('location', sa.Text(), nullable=False, comment="Scout's scan folder (scan_id=...)"),
    sa.Column('scout_scan_id', sa.Text(), nullable=True, comment="Scout's own id of the scan"),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('transcripts', sa.Integer(), nullable=True, comment='Transcripts the scan covered'),
    sa.Column('eval_logs_run_id', sa.Text(), nullable=True, comment='Dagster run that materialised the eval_logs partition the scan read'),
    sa.Column('eval_logs_data_version', sa.Text(), nullable=True, comment='Data version of that eval_logs materialisation'),
    sa.Column('imported_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['scan_pk'], ['scan.pk'], name=op.f('fk_scan_source_scan_pk_scan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_scan_source')),
    sa.UniqueConstraint('scan_pk', 'eval_set_id', 'model', name=op.f('uq_scan_source_scan_pk_eval_set_id_model'))
    )
    op.create_index(op.f('ix_scan_source_eval_set_id'), 'scan_source', ['eval_set_id'], unique=False)
    op.create_table('scanner_result',
    sa.Column('pk', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('scan_pk', sa.UUID(), nullable=False),
    sa.Column('scan_source_pk', sa.UUID(), nullable=False),
    sa.Column('sample_pk', sa.UUID(), nullable=True, comment='The scanned sample, when the warehouse holds it'),
    sa.Column('transcript_id', sa.Text(), nullable=False, comment='Scout transcript id = Inspect sample uuid'),
    sa.Column('result_uuid', sa.Text(), nullable=True, comment="Scout's id of the result"),
    sa.Column('scanner_key', sa.Text(), nullable=False),
    sa.Column('scanner_name', sa.Text(), nullable=True),
    sa.Column('label', sa.Text(), nullable=True, comment='Label of one result of a scanner that returns several'),
    sa.Column('value', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True, comment='Value as the scanner returned it'),
    sa.Column('value_type', sa.Text(), nullable=True),
    sa.Column('value_float', sa.Double(), nullable=True, comment='Numeric value; NULL when it has no numeric meaning'),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('metadata', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('error', sa.Text(), nullable=True, comment="The scanner's error on this transcript (no value then)"),
    sa.Column('error_type', sa.Text(), nullable=True),
    sa.Column('total_tokens', sa.BigInteger(), nullable=True),
    sa.Column('model_usage', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('scanned_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['sample_pk'], ['sample.pk'], name=op.f('fk_scanner_result_sample_pk_sample'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scan_pk'], ['scan.pk'], name=op.f('fk_scanner_result_scan_pk_scan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scan_source_pk'], ['scan_source.pk'], name=op.f('fk_scanner_result_scan_source_pk_scan_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_scanner_result'))
    )
    op.create_index(op.f('ix_scanner_result_sample_pk_scanner_key'), 'scanner_result', ['sample_pk', 'scanner_key'], unique=False)
    op.create_index(op.f('ix_scanner_result_scan_pk_scanner_key'), 'scanner_result', ['scan_pk', 'scanner_key'], unique=False)
    op.create_index(op.f('ix_scanner_result_scan_source_pk'), 'scanner_result', ['scan_source_pk'], unique=False)
    op.create_index(op.f('ix_scanner_result_transcript_id'), 'scanner_result', ['transcript_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_scanner_result_transcript_id'), table_name='scanner_result')
    op.drop_index(op.f('ix_scanner_result_scan_source_pk'), table_name='scanner_result')
    op.drop_index(op.f('ix_scanner_result_scan_pk_scanner_key'), table_name='scanner_result')
    op.drop_index(op.f('ix_scanner_result_sample_pk_scanner_key'), table_name='scanner_result')
    op.drop_table('scanner_result')
    op.drop_index(op.f('ix_scan_source_eval_set_id'), table_name='scan_source')
    op.drop_table('scan_source')
    op.drop_table('scan')
