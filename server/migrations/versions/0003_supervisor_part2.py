"""coaching, recordings browser, question inbox, lead reclaims

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 17:53:41.253624
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Covering indexes for the daily report over a date range (server/reports.py).
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_report", ["user_id", "dialed_at", "answered_at", "ended_at",
                                                  "talk_seconds"], unique=False)
        batch_op.create_index("ix_calls_id_times", ["id", "ended_at", "answered_at", "talk_seconds"], unique=False)
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index("ix_dispositions_report", ["user_id", "occurred_at", "call_id", "code",
                                                         "is_conversion", "callback_at", "supersedes"], unique=False)

    op.create_table('coaching_forms',
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.PrimaryKeyConstraint('campaign_id')
    )
    op.create_table('coaching_evaluations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=True),
    sa.Column('evaluator_id', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('overall_comment', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('supersedes', sa.String(length=36), nullable=True),
    sa.Column('superseded_by', sa.String(length=36), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(), nullable=False),
    sa.Column('ack_state', sa.String(length=12), nullable=False),
    sa.Column('ack_comment', sa.Text(), nullable=True),
    sa.Column('ack_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('coaching_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coaching_evaluations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_evaluations_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coaching_evaluations_team_id'), ['team_id'], unique=False)

    op.create_table('lead_reclaims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.String(length=64), nullable=False),
    sa.Column('from_user', sa.String(length=64), nullable=False),
    sa.Column('by_user', sa.String(length=64), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['by_user'], ['users.id'], ),
    sa.ForeignKeyConstraint(['from_user'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lead_reclaims', schema=None) as batch_op:
        batch_op.create_index('ix_lead_reclaims_lead_user', ['lead_id', 'from_user'], unique=False)

    op.create_table('question_answers',
    sa.Column('question_id', sa.String(length=36), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('answered_by', sa.String(length=64), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('script_id', sa.String(length=64), nullable=False),
    sa.Column('script_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('question_id')
    )
    with op.batch_alter_table('question_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_answers_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('recording_playbacks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('range_start', sa.BigInteger(), nullable=False),
    sa.Column('range_end', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recording_playbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_playbacks_call_id'), ['call_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording_playbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_playbacks_call_id'))

    op.drop_table('recording_playbacks')
    with op.batch_alter_table('question_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_answers_campaign_id'))

    op.drop_table('question_answers')
    with op.batch_alter_table('lead_reclaims', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_reclaims_lead_user')

    op.drop_table('lead_reclaims')
    with op.batch_alter_table('coaching_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coaching_evaluations_team_id'))
        batch_op.drop_index(batch_op.f('ix_coaching_evaluations_call_id'))
        batch_op.drop_index(batch_op.f('ix_coaching_evaluations_agent_id'))

    op.drop_table('coaching_evaluations')
    op.drop_table('coaching_forms')
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.drop_index("ix_dispositions_report")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_id_times")
        batch_op.drop_index("ix_calls_report")
