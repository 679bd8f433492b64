"""reminders: item reminders, notifications (outbox), people, weekly summaries; plans'
reminder lead time

Existing plans start with reminders_synced false: the first scheduler pass builds the
reminders of their open assigned items.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('assigned', 'unassigned', 'done', 'dm_update', name='notification_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('action_item_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_due', ['next_run_at', 'id'], unique=False)
        batch_op.create_index('ix_notifications_item', ['action_item_id'], unique=False)

    op.create_table('people',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lookup_error', sa.String(length=64), nullable=False),
    sa.Column('dm_channel_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_people'))
    )
    op.create_table('weekly_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('needs_schedule', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_summaries')),
    sa.UniqueConstraint('team_id', 'user_id', name=op.f('uq_weekly_summaries_team_id'))
    )
    with op.batch_alter_table('weekly_summaries', schema=None) as batch_op:
        batch_op.create_index('ix_weekly_summaries_due', ['next_run_at', 'id'], unique=False)

    op.create_table('item_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_item_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('assignee_id', sa.String(length=32), nullable=False),
    sa.Column('assigned_by', sa.String(length=32), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('soon_sent', sa.Boolean(), nullable=False),
    sa.Column('overdue_sent', sa.Integer(), nullable=False),
    sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_schedule', sa.Boolean(), nullable=False),
    sa.Column('dm_channel_id', sa.String(length=32), nullable=True),
    sa.Column('dm_ts', sa.String(length=32), nullable=True),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['action_item_id'], ['action_items.id'], name=op.f('fk_item_reminders_action_item_id_action_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_reminders')),
    sa.UniqueConstraint('action_item_id', name=op.f('uq_item_reminders_action_item_id'))
    )
    with op.batch_alter_table('item_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_item_reminders_due', ['next_run_at', 'id'], unique=False)
        batch_op.create_index('ix_item_reminders_team_assignee', ['team_id', 'assignee_id'], unique=False)

    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_lead_days', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('reminders_synced', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.drop_column('reminders_synced')
        batch_op.drop_column('reminder_lead_days')

    with op.batch_alter_table('item_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_item_reminders_team_assignee')
        batch_op.drop_index('ix_item_reminders_due')

    op.drop_table('item_reminders')
    with op.batch_alter_table('weekly_summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_weekly_summaries_due')

    op.drop_table('weekly_summaries')
    op.drop_table('people')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_item')
        batch_op.drop_index('ix_notifications_due')

    op.drop_table('notifications')
