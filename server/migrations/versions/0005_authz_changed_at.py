"""users.authz_changed_at: role/team changes reach live access tokens within seconds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authz_changed_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_users_authz_changed_at", ["authz_changed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_authz_changed_at")
        batch_op.drop_column("authz_changed_at")
