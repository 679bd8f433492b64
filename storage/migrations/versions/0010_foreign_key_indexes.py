"""indexes on the foreign keys 0008 and 0009 added

- action_items.customer_contact_id (ON DELETE SET NULL): deleting a stakeholder finds
  its items by index instead of reading every action item.
- plan_agreements.objective_id (ON DELETE CASCADE): deleting an objective finds its
  requests by index.

Index creation only: nothing is rebuilt on SQLite. Plain CREATE INDEX inside the
migration's transaction: on PostgreSQL it blocks writes to action_items while it builds
(about a second per million action items).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_action_items_customer_contact', 'action_items', ['customer_contact_id'], unique=False)
    op.create_index('ix_plan_agreements_objective', 'plan_agreements', ['objective_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_plan_agreements_objective', table_name='plan_agreements')
    op.drop_index('ix_action_items_customer_contact', table_name='action_items')
