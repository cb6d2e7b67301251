"""One write path: no carried tracking state, no append functions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00

Commands' events are inserted and projected by plain statements in one transaction (docs/decisions/0044): the
PostgreSQL functions `socialgov_append` and `socialgov_insert_events` and the tracking rows' `carry` column are
no longer used.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS socialgov_append(uuid[], bigint[], text[], bytea[], text[])")
        op.execute("DROP FUNCTION IF EXISTS socialgov_insert_events(uuid[], bigint[], text[], bytea[])")
    with op.batch_alter_table('projection_tracking') as batch:
        batch.drop_column('carry')


def downgrade() -> None:
    with op.batch_alter_table('projection_tracking') as batch:
        batch.add_column(sa.Column('carry', sa.Text(), nullable=True))
