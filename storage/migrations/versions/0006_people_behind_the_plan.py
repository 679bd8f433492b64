"""people behind the plan: stakeholders, objective owners and progress, check-ins,
templates

- stakeholders (+ objective_stakeholders, the objectives each matters to);
- objectives: owner_id, progress_status, progress_note, progress_updated_at/_by;
- account_plans: checkin_lead_days (5), monthly_checkins (false), checkins_checked_on,
  and an index for the check-in scheduler (status, checkins_checked_on);
- checkin_requests: the outbox of progress check-ins, one row per owner, plan and round;
- plan_templates: a workspace's templates.

No table that others refer to is rebuilt on SQLite: a rebuild drops the old table, and
with foreign keys on, SQLite deletes its rows first, and every child row with them (ON
DELETE CASCADE). So the new columns are added in place (ALTER TABLE ADD COLUMN), with
plain-text server defaults (a SQL expression as default would make Alembic rebuild
the table), and the CHECK of progress_status is written into the column on SQLite,
which cannot add a constraint to a table afterwards. account_plans keeps its
expression index (ix_account_plans_team_lower_name) for the same reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
OBJECTIVE_STATUSES = ('on_track', 'at_risk', 'off_track')


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'

    with op.batch_alter_table('account_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_lead_days', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('monthly_checkins', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('checkins_checked_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_account_plans_checkins', ['status', 'checkins_checked_on'], unique=False)

    with op.batch_alter_table('objectives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.String(length=32), nullable=True))
        if not sqlite:
            batch_op.add_column(sa.Column('progress_status', _enum('objective_status', *OBJECTIVE_STATUSES),
                                          nullable=True))
        batch_op.add_column(sa.Column('progress_note', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('progress_updated_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('progress_updated_by', sa.String(length=32), nullable=True))
    if sqlite:
        allowed = ", ".join(f"'{value}'" for value in OBJECTIVE_STATUSES)
        op.execute(
            "ALTER TABLE objectives ADD COLUMN progress_status VARCHAR(16) "
            f"CONSTRAINT ck_objectives_objective_status CHECK (progress_status IN ({allowed}))"
        )

    op.create_table('plan_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_templates')),
    sa.UniqueConstraint('team_id', 'name', name=op.f('uq_plan_templates_team_id'))
    )

    op.create_table('checkin_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('round_key', sa.String(length=32), nullable=False),
    sa.Column('send_on', sa.Date(), nullable=False),
    sa.Column('sent_at', UTC, nullable=True),
    sa.Column('reminded_at', UTC, nullable=True),
    sa.Column('answered_at', UTC, nullable=True),
    sa.Column('dm_channel_id', sa.String(length=32), nullable=True),
    sa.Column('dm_ts', sa.String(length=32), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('next_run_at', UTC, nullable=True),
    sa.Column('locked_until', UTC, nullable=True),
    sa.Column('attempted_at', UTC, nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', UTC, nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_checkin_requests_plan_id_account_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_requests')),
    sa.UniqueConstraint('team_id', 'plan_id', 'owner_id', 'round_key', name=op.f('uq_checkin_requests_team_id'))
    )
    with op.batch_alter_table('checkin_requests', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_requests_due', ['next_run_at', 'id'], unique=False)
        batch_op.create_index('ix_checkin_requests_plan_id', ['plan_id'], unique=False)

    op.create_table('stakeholders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('side', _enum('stakeholder_side', 'customer', 'ours'), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=True),
    sa.Column('role', _enum('stakeholder_role', 'sponsor', 'decision_maker', 'champion', 'influencer',
                            'user', 'blocker'), nullable=True),
    sa.Column('influence', _enum('influence', 'high', 'medium', 'low'), nullable=True),
    sa.Column('stance', _enum('stance', 'supporter', 'neutral', 'opponent'), nullable=True),
    sa.Column('reports_to_id', sa.Integer(), nullable=True),
    sa.Column('last_contact_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['account_plans.id'], name=op.f('fk_stakeholders_plan_id_account_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reports_to_id'], ['stakeholders.id'], name=op.f('fk_stakeholders_reports_to_id_stakeholders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholders'))
    )
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholders_plan_position', ['plan_id', 'position'], unique=False)
        batch_op.create_index('ix_stakeholders_reports_to_id', ['reports_to_id'], unique=False)

    op.create_table('objective_stakeholders',
    sa.Column('objective_id', sa.Integer(), nullable=False),
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['objectives.id'], name=op.f('fk_objective_stakeholders_objective_id_objectives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_objective_stakeholders_stakeholder_id_stakeholders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('objective_id', 'stakeholder_id', name=op.f('pk_objective_stakeholders'))
    )
    with op.batch_alter_table('objective_stakeholders', schema=None) as batch_op:
        batch_op.create_index('ix_objective_stakeholders_stakeholder', ['stakeholder_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('objective_stakeholders', schema=None) as batch_op:
        batch_op.drop_index('ix_objective_stakeholders_stakeholder')
    op.drop_table('objective_stakeholders')
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index('ix_stakeholders_reports_to_id')
        batch_op.drop_index('ix_stakeholders_plan_position')
    op.drop_table('stakeholders')
    with op.batch_alter_table('checkin_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_requests_plan_id')
        batch_op.drop_index('ix_checkin_requests_due')
    op.drop_table('checkin_requests')
    op.drop_table('plan_templates')

    op.drop_index('ix_account_plans_checkins', table_name='account_plans')
    # In place on SQLite too (ALTER TABLE DROP COLUMN, SQLite 3.35+): a batch rebuild
    # would cascade-delete the children of objectives and plans (see above).
    for table, column in [('objectives', 'progress_updated_by'), ('objectives', 'progress_updated_at'),
                          ('objectives', 'progress_note'), ('objectives', 'progress_status'),
                          ('objectives', 'owner_id'), ('account_plans', 'checkins_checked_on'),
                          ('account_plans', 'monthly_checkins'), ('account_plans', 'checkin_lead_days')]:
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
