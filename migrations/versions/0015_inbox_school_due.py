"""inbox: a school's interactions in reply-due order

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 04:00:00

The moderators' inbox page (api/web/inbox.py) reads one school's interactions ordered by due time, a page at a
time (docs/decisions/0096): an index on (school_id, due_at) lets it stop after a page instead of sorting every
open interaction of the school.
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_rm_interactions_school_due', 'rm_interactions', ['school_id', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_rm_interactions_school_due', table_name='rm_interactions')
