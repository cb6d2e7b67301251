"""a projection's carried state beside its tracking position

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 06:30:00

The audit chain keeps its last link here, written with the position it belongs to, so that a batch gets it from
the tracking lock's own row instead of reading the chain (docs/decisions/0031-tracking-carry.md). Empty at first:
the chain then reads its last link from the table once, as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('projection_tracking', sa.Column('carry', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('projection_tracking', 'carry')
