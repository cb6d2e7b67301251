"""per-school application counts for dashboards

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:20:00

The counts are filled from rm_applications in the same transaction, so they match the read model's tracking
position; from then on the projection keeps them (docs/decisions/0024-dashboard-counters.md).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rm_school_application_counts',
        sa.Column('school_id', sa.Uuid(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('trust_id', sa.Uuid(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('school_id', 'status'),
    )
    op.execute("INSERT INTO rm_school_application_counts (school_id, status, trust_id, n) "
               "SELECT school_id, status, trust_id, count(*) FROM rm_applications GROUP BY school_id, status, trust_id")
    # the projection also keeps a 'submitted' row at 0 once a school's applications have all been decided
    op.execute("INSERT INTO rm_school_application_counts (school_id, status, trust_id, n) "
               "SELECT school_id, 'submitted', trust_id, 0 FROM rm_applications GROUP BY school_id, trust_id "
               "HAVING sum(CASE WHEN status = 'submitted' THEN 1 ELSE 0 END) = 0")


def downgrade() -> None:
    op.drop_table('rm_school_application_counts')
