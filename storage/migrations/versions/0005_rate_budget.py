"""rate budget: Slack's rate limits kept by every instance together

rate_budgets: one row per (workspace, Web API method), per (workspace, channel) for
chat.postMessage, and a workspace's pause after a 429; `next_free_at` and `spacing` in
seconds (storage/rate_budget.py). A new table: nothing else is touched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_budgets',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('bucket', sa.String(length=64), nullable=False),
    sa.Column('next_free_at', sa.Double(), nullable=False),
    sa.Column('spacing', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'bucket', name=op.f('pk_rate_budgets'))
    )


def downgrade() -> None:
    op.drop_table('rate_budgets')
