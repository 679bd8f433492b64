"""account plans

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('team_id', 'name', name=op.f('uq_accounts_team_id'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_team_id'), ['team_id'], unique=False)

    op.create_table('change_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.String(length=3000), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.create_index('ix_change_log_plan_at', ['plan_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_log_team_id'), ['team_id'], unique=False)

    op.create_table('account_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'active', 'completed', 'archived', name='plan_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('vision', sa.Text(), nullable=False),
    sa.Column('customer_goals', sa.Text(), nullable=False),
    sa.Column('our_goals', sa.Text(), nullable=False),
    sa.Column('copied_from_id', sa.Integer(), nullable=True),
    sa.Column('last_review_date', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_plans_account_id_accounts')),
    sa.ForeignKeyConstraint(['copied_from_id'], ['account_plans.id'], name=op.f('fk_account_plans_copied_from_id_account_plans'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_plans'))
    )
    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_plans_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_plans_team_id'), ['team_id'], unique=False)
        batch_op.create_index('ix_account_plans_team_owner', ['team_id', 'owner_id'], unique=False)
        batch_op.create_index('ix_account_plans_team_status', ['team_id', 'status'], unique=False)

    op.create_table('plan_members',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_plan_members_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'user_id', name=op.f('pk_plan_members'))
    )
    with op.batch_alter_table('plan_members', schema=None) as batch_op:
        batch_op.create_index('ix_plan_members_team_user', ['team_id', 'user_id'], unique=False)

    op.create_table('qbr_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('decisions', sa.Text(), nullable=False),
    sa.Column('next_qbr_date', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_qbr_reviews_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qbr_reviews'))
    )
    with op.batch_alter_table('qbr_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qbr_reviews_plan_id'), ['plan_id'], unique=False)

    op.create_table('strategies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_strategies_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategies'))
    )
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_strategies_plan_id'), ['plan_id'], unique=False)

    op.create_table('swot_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('strength', 'weakness', 'opportunity', 'threat', name='swot_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('team_only', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_swot_entries_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swot_entries'))
    )
    with op.batch_alter_table('swot_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_swot_entries_plan_id'), ['plan_id'], unique=False)

    op.create_table('objectives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('strategy_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('measure_unit', sa.String(length=150), nullable=False),
    sa.Column('target_value', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('current_value', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_objectives_plan_id_account_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_objectives_strategy_id_strategies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objectives'))
    )
    with op.batch_alter_table('objectives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objectives_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objectives_strategy_id'), ['strategy_id'], unique=False)

    op.create_table('action_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('assignee_id', sa.String(length=32), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'done', name='item_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=32), nullable=True),
    sa.Column('team_only', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['objectives.id'], name=op.f('fk_action_items_objective_id_objectives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_action_items_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items'))
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_items_objective_id'), ['objective_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index('ix_action_items_team_assignee_status', ['team_id', 'assignee_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index('ix_action_items_team_assignee_status')
        batch_op.drop_index(batch_op.f('ix_action_items_plan_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_objective_id'))

    op.drop_table('action_items')
    with op.batch_alter_table('objectives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objectives_strategy_id'))
        batch_op.drop_index(batch_op.f('ix_objectives_plan_id'))

    op.drop_table('objectives')
    with op.batch_alter_table('swot_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_swot_entries_plan_id'))

    op.drop_table('swot_entries')
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_strategies_plan_id'))

    op.drop_table('strategies')
    with op.batch_alter_table('qbr_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qbr_reviews_plan_id'))

    op.drop_table('qbr_reviews')
    with op.batch_alter_table('plan_members', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_members_team_user')

    op.drop_table('plan_members')
    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_account_plans_team_status')
        batch_op.drop_index('ix_account_plans_team_owner')
        batch_op.drop_index(batch_op.f('ix_account_plans_team_id'))
        batch_op.drop_index(batch_op.f('ix_account_plans_account_id'))

    op.drop_table('account_plans')
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_log_team_id'))
        batch_op.drop_index('ix_change_log_plan_at')

    op.drop_table('change_log')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_team_id'))

    op.drop_table('accounts')
