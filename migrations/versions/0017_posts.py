"""posts: posts on school accounts with their checks, approvals, publication and removal; parents' take-down
requests

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-04 03:40:00

Issue 24 (docs/decisions/0080-post-lifecycle.md). On PostgreSQL the tables get the same row-level security as the
rest of the read model (0011): only the caller's trust and schools.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

READER = "socialgov_reader"
TABLES = ("rm_posts", "rm_post_takedowns")
TRUST = "NULLIF(current_setting('socialgov.trust', true), '')::uuid"
SCHOOLS = ("CASE WHEN current_setting('socialgov.schools', true) = '*' THEN true "
           "ELSE school_id IS NULL OR school_id = ANY (NULLIF(current_setting('socialgov.schools', true), '')"
           "::uuid[]) END")


def upgrade() -> None:
    op.create_table(
        'rm_posts',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('trust_id', sa.Uuid(), nullable=False),
        sa.Column('school_id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('author_id', sa.Uuid(), nullable=False),
        sa.Column('author_name', sa.String(200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('findings', sa.JSON(), nullable=False),
        sa.Column('worst', sa.String(20), nullable=True, comment="the most serious finding's severity, if any"),
        sa.Column('approval_because', sa.JSON(), nullable=False),
        sa.Column('approver_ids', sa.JSON(), nullable=False),
        sa.Column('approvals', sa.JSON(), nullable=False,
                  comment='[{by, role, at, reason}] approvals and returns, in order'),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('returned_reason', sa.Text(), nullable=True),
        sa.Column('url', sa.String(2000), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_by', sa.String(200), nullable=True),
        sa.Column('overridden', sa.JSON(), nullable=False),
        sa.Column('override_reason', sa.Text(), nullable=True),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('removed_by', sa.String(200), nullable=True),
        sa.Column('removal_reason', sa.Text(), nullable=True),
        sa.Column('told_audience', sa.Text(), nullable=True),
        sa.Column('open_takedowns', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_index('ix_rm_posts_account_created', 'rm_posts', ['account_id', 'created_at'])
    op.create_index('ix_rm_posts_school_status', 'rm_posts', ['school_id', 'status'])
    op.create_table(
        'rm_post_takedowns',
        sa.Column('id', sa.Uuid(), primary_key=True),
        sa.Column('post_id', sa.Uuid(), nullable=False),
        sa.Column('trust_id', sa.Uuid(), nullable=False),
        sa.Column('school_id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('parent_name', sa.String(200), nullable=False),
        sa.Column('contact', sa.String(200), nullable=True),
        sa.Column('concern', sa.Text(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(200), nullable=False),
        sa.Column('status', sa.String(20), nullable=False, comment='open, or closed when the post is removed'),
    )
    op.create_index('ix_rm_post_takedowns_post_id', 'rm_post_takedowns', ['post_id'])
    op.create_index('ix_rm_post_takedowns_school_id', 'rm_post_takedowns', ['school_id'])
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"GRANT SELECT ON {table} TO {READER}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON {table} FOR SELECT TO {READER} "
                   f"USING (trust_id = {TRUST} AND ({SCHOOLS}))")


def downgrade() -> None:
    op.drop_table('rm_post_takedowns')
    op.drop_table('rm_posts')
