"""Lead notes, a change journal for the search index, an index on leads.updated_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Triggers journal every change to a lead (or its phones) so the in-memory
# search index can refresh only what changed, whoever wrote it.
_TRIGGERS = {
    "trg_leads_ins": "AFTER INSERT ON leads BEGIN INSERT INTO lead_changes(lead_id) VALUES (NEW.id); END",
    "trg_leads_upd": "AFTER UPDATE ON leads BEGIN INSERT INTO lead_changes(lead_id) VALUES (NEW.id); END",
    "trg_leads_del": "AFTER DELETE ON leads BEGIN INSERT INTO lead_changes(lead_id) VALUES (OLD.id); END",
    "trg_phones_ins": "AFTER INSERT ON lead_phones BEGIN INSERT INTO lead_changes(lead_id) VALUES (NEW.lead_id); END",
    "trg_phones_upd": "AFTER UPDATE ON lead_phones BEGIN INSERT INTO lead_changes(lead_id) VALUES (NEW.lead_id); END",
    "trg_phones_del": "AFTER DELETE ON lead_phones BEGIN INSERT INTO lead_changes(lead_id) VALUES (OLD.lead_id); END",
}


def upgrade() -> None:
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_notes_lead_id", "lead_notes", ["lead_id"])
    op.create_table(
        "lead_changes",
        # A plain rowid key, not AUTOINCREMENT: that costs a sqlite_sequence update per
        # change (2x slower bulk imports). Readers treat a gap as "rebuild everything".
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_leads_updated_at", "leads", ["updated_at"])
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_leads_updated_at", table_name="leads")
    op.drop_table("lead_changes")
    op.drop_index("ix_lead_notes_lead_id", table_name="lead_notes")
    op.drop_table("lead_notes")
