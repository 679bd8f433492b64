"""shared with customer: what an external audience sees is an allow-list

- strategies, objectives, action_items: shared_with_customer (not null, false for new
  rows);
- account_plans: share_with_customer_by_default (false): the mark new parts start with;
- action_items.team_only goes: the allow-list replaces it;
- people: external (null until Slack is asked): whether a person belongs to another
  organisation, which decides whether DMs about items not shared may go to them.

Existing rows keep what customers saw before: every strategy and objective is shared,
an action item is shared unless it was team-only. SWOT keeps its own team_only.

As in 0006, nothing is rebuilt on SQLite (a rebuilt table cascade-deletes its children
with foreign keys on): columns are added and dropped in place (ALTER TABLE ADD/DROP
COLUMN, SQLite 3.35+).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SHARED_TABLES = ('strategies', 'objectives', 'action_items')


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    for table in SHARED_TABLES:
        op.add_column(table, sa.Column('shared_with_customer', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('account_plans', sa.Column('share_with_customer_by_default', sa.Boolean(),
                                             server_default='0', nullable=False))
    op.execute('UPDATE strategies SET shared_with_customer = true')
    op.execute('UPDATE objectives SET shared_with_customer = true')
    op.execute('UPDATE action_items SET shared_with_customer = NOT team_only')
    _drop_column('action_items', 'team_only')
    op.add_column('people', sa.Column('external', sa.Boolean(), nullable=True))


def downgrade() -> None:
    _drop_column('people', 'external')
    # Back to the deny-list: an item customers do not see now (not shared, or under a
    # part that is not) becomes team-only. Strategies and objectives were all shown.
    op.add_column('action_items', sa.Column('team_only', sa.Boolean(), server_default='0', nullable=False))
    op.execute(
        'UPDATE action_items SET team_only = NOT (shared_with_customer AND EXISTS ('
        'SELECT 1 FROM objectives JOIN strategies ON strategies.id = objectives.strategy_id '
        'WHERE objectives.id = action_items.objective_id '
        'AND objectives.shared_with_customer AND strategies.shared_with_customer))'
    )
    if op.get_bind().dialect.name != 'sqlite':
        # 0001 made it without a server default (SQLite cannot drop one in place).
        op.alter_column('action_items', 'team_only', server_default=None)
    _drop_column('account_plans', 'share_with_customer_by_default')
    for table in reversed(SHARED_TABLES):
        _drop_column(table, 'shared_with_customer')
