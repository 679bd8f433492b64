"""digests and canvases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Enum('on_demand', 'scheduled', 'qbr', name='digest_reason', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('audience', sa.Enum('team', 'external', name='audience', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('posted_by', sa.String(length=32), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_digest_posts_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_posts'))
    )
    with op.batch_alter_table('digest_posts', schema=None) as batch_op:
        batch_op.create_index('ix_digest_posts_plan_posted', ['plan_id', 'posted_at'], unique=False)

    op.create_table('digest_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('frequency', sa.Enum('weekly', 'biweekly', 'monthly', 'none', name='digest_frequency', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('time_of_day', sa.Time(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('after_qbr', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_digest_subscriptions_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_subscriptions')),
    sa.UniqueConstraint('plan_id', 'channel_id', name=op.f('uq_digest_subscriptions_plan_id'))
    )
    with op.batch_alter_table('digest_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_digest_subscriptions_due', ['next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_digest_subscriptions_team_id'), ['team_id'], unique=False)

    op.create_table('plan_canvases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.Enum('team', 'external', name='audience', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('canvas_id', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_plan_canvases_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_canvases')),
    sa.UniqueConstraint('plan_id', 'audience', name=op.f('uq_plan_canvases_plan_id'))
    )
    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qbr_reminder_days', sa.Integer(), server_default='90', nullable=False))
        batch_op.add_column(sa.Column('qbr_nudged_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.drop_column('qbr_nudged_at')
        batch_op.drop_column('qbr_reminder_days')

    op.drop_table('plan_canvases')
    with op.batch_alter_table('digest_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_subscriptions_team_id'))
        batch_op.drop_index('ix_digest_subscriptions_due')

    op.drop_table('digest_subscriptions')
    with op.batch_alter_table('digest_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_posts_plan_posted')

    op.drop_table('digest_posts')
