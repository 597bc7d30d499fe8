"""supervisor mode: floor control, messages, monitor sessions, audit trail, live-floor feed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_sync_at", sa.DateTime(), nullable=True))

    op.create_table(
        "agent_commands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_by_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("acked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agent_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_commands_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_agent_commands_team_open", ["team_id", "acked_at"], unique=False)

    op.create_table(
        "team_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("sender_name", sa.String(length=100), nullable=False),
        sa.Column("to_agent_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["to_agent_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("team_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_messages_team_id"), ["team_id"], unique=False)

    op.create_table(
        "monitor_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("tl_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["jti"], ["monitor_audit.jti"]),
        sa.ForeignKeyConstraint(["tl_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("jti"),
    )
    with op.batch_alter_table("monitor_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_sessions_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_monitor_sessions_tl_id"), ["tl_id"], unique=False)
        batch_op.create_index("ix_monitor_sessions_team_open", ["team_id", "ended_at"], unique=False)

    op.create_table(
        "supervisor_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supervisor_audit", schema=None) as batch_op:
        batch_op.create_index("ix_supervisor_audit_team_id", ["team_id", "id"], unique=False)

    op.create_table(
        "floor_feed",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("floor_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_floor_feed_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("floor_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_floor_feed_at"))
    op.drop_table("floor_feed")
    with op.batch_alter_table("supervisor_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_supervisor_audit_team_id")
    op.drop_table("supervisor_audit")
    with op.batch_alter_table("monitor_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_sessions_team_open")
        batch_op.drop_index(batch_op.f("ix_monitor_sessions_tl_id"))
        batch_op.drop_index(batch_op.f("ix_monitor_sessions_agent_id"))
    op.drop_table("monitor_sessions")
    with op.batch_alter_table("team_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_messages_team_id"))
    op.drop_table("team_messages")
    with op.batch_alter_table("agent_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_commands_team_open")
        batch_op.drop_index(batch_op.f("ix_agent_commands_agent_id"))
    op.drop_table("agent_commands")
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.drop_column("last_sync_at")
        batch_op.drop_column("call_number")
