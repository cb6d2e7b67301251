"""web drafts: the answers given so far on a multi-page web form

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 09:00:00

One row per person and form (infra/drafts.py, docs/decisions/0053): "apply for an account" keeps its answers
between its question pages here.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_drafts',
        sa.Column('person_id', sa.Uuid(), nullable=False),
        sa.Column('form', sa.String(length=100), nullable=False, comment='which form, e.g. application:<school id>'),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('person_id', 'form'),
    )
    op.create_index('ix_web_drafts_expires_at', 'web_drafts', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_web_drafts_expires_at', table_name='web_drafts')
    op.drop_table('web_drafts')
