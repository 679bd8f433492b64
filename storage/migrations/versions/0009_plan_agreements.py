"""the customer's agreement to a plan: plan_agreements

One row per "Ask customer to confirm" (the whole plan, or one objective), with what it
showed, who from the customer agreed and when, and the team conversation its comments
go to (storage/models/agreements.py). A new table only: nothing is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('plan_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('requested_at', UTC, nullable=False),
    sa.Column('shown', sa.JSON(), nullable=False),
    sa.Column('agreed_by', sa.String(length=32), nullable=True),
    sa.Column('agreed_name', sa.String(length=150), nullable=False),
    sa.Column('agreed_organisation', sa.String(length=150), nullable=False),
    sa.Column('agreed_at', UTC, nullable=True),
    sa.Column('thread_channel_id', sa.String(length=32), nullable=True),
    sa.Column('thread_ts', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['objective_id'], ['objectives.id'],
                            name=op.f('fk_plan_agreements_objective_id_objectives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'],
                            name=op.f('fk_plan_agreements_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_agreements'))
    )
    op.create_index('ix_plan_agreements_plan_requested', 'plan_agreements', ['plan_id', 'requested_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_plan_agreements_plan_requested', table_name='plan_agreements')
    op.drop_table('plan_agreements')
