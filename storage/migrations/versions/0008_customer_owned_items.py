"""customer-owned action items: the plan's customer channel, and items a customer owns

- account_plans.customer_channel_id: the Slack Connect channel the plan shares with the
  customer (the plan form's "Customer channel"); customer-owned items are reminded
  there, and the customer is asked to confirm the plan there;
- action_items.customer_contact_id: the item belongs to a customer contact without
  Slack (a stakeholder of the plan); a team member follows it up;
- action_items.follow_up_id: the team member who follows a customer-owned item up: told
  when the customer marks it done, reminded instead of a contact without Slack.

Columns are only added. On SQLite a named foreign key needs action_items rebuilt (a
column-level constraint added in place loses its name to reflection, and a column in a
foreign key cannot be dropped in place): storage.migrate.upgrade and .downgrade run
migrations with foreign keys off, so its children keep their rows both ways.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import warnings
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


@contextmanager
def _rebuilding(table: str):
    """Batch-alter `table`. Its rebuild on SQLite reflects the tables it refers to, and
    SQLAlchemy warns that it cannot reflect account_plans' lower(name) index (the copy
    does not need it): a warning on stderr at every start of a new database, in the
    middle of the JSON log lines."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection", category=sa.exc.SAWarning)
        with op.batch_alter_table(table, schema=None) as batch_op:
            yield batch_op


def upgrade() -> None:
    op.add_column('account_plans', sa.Column('customer_channel_id', sa.String(length=32), nullable=True))
    with _rebuilding('action_items') as batch_op:
        batch_op.add_column(sa.Column('customer_contact_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_id', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_action_items_customer_contact_id_stakeholders'),
                                    'stakeholders', ['customer_contact_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with _rebuilding('action_items') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_items_customer_contact_id_stakeholders'), type_='foreignkey')
        batch_op.drop_column('follow_up_id')
        batch_op.drop_column('customer_contact_id')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE account_plans DROP COLUMN customer_channel_id')
    else:
        op.drop_column('account_plans', 'customer_channel_id')
