"""query indexes: every hot query narrowed by an index to the rows it returns

- account_plans: a page of a workspace's plans in list order, with or without a status
  (team_id, [status,] start_date DESC, name, id: replaces team_id, status); a name as
  typed (team_id, lower(name)); the scheduler's plans not yet synced (reminders_synced,
  id) and active plans that may be due a QBR reminder (status, end_date).
- action_items: (plan_id, status) replaces (plan_id), so a list's progress per plan is
  read from the index alone.

Plain CREATE INDEX inside the migration's transaction: on PostgreSQL it blocks writes to
the table while it builds (about a second per million action items).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_account_plans_team_status', table_name='account_plans')
    op.create_index('ix_account_plans_team_order', 'account_plans',
                    ['team_id', sa.text('start_date DESC'), 'name', 'id'], unique=False)
    op.create_index('ix_account_plans_team_status_order', 'account_plans',
                    ['team_id', 'status', sa.text('start_date DESC'), 'name', 'id'], unique=False)
    # An expression index: SQLAlchemy cannot reflect it from SQLite, so autogenerate
    # does not see it there, and a batch-mode rebuild of account_plans on SQLite would
    # drop it (create it again after such a rebuild).
    op.create_index('ix_account_plans_team_lower_name', 'account_plans',
                    ['team_id', sa.text('lower(name)')], unique=False)
    op.create_index('ix_account_plans_unsynced', 'account_plans', ['reminders_synced', 'id'], unique=False)
    op.create_index('ix_account_plans_status_end', 'account_plans', ['status', 'end_date'], unique=False)

    op.create_index('ix_action_items_plan_status', 'action_items', ['plan_id', 'status'], unique=False)
    op.drop_index('ix_action_items_plan_id', table_name='action_items')


def downgrade() -> None:
    op.create_index('ix_action_items_plan_id', 'action_items', ['plan_id'], unique=False)
    op.drop_index('ix_action_items_plan_status', table_name='action_items')

    op.drop_index('ix_account_plans_status_end', table_name='account_plans')
    op.drop_index('ix_account_plans_unsynced', table_name='account_plans')
    op.drop_index('ix_account_plans_team_lower_name', table_name='account_plans')
    op.drop_index('ix_account_plans_team_status_order', table_name='account_plans')
    op.drop_index('ix_account_plans_team_order', table_name='account_plans')
    op.create_index('ix_account_plans_team_status', 'account_plans', ['team_id', 'status'], unique=False)
