"""PostgreSQL: one call inserts a batch's events and locks the projections' tracking rows

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 06:45:00

`socialgov_append` calls the event store's `socialgov_insert_events` (which takes the events table's lock) and
then locks the named tracking rows, in name order, returning the ids and the rows' positions and carries: one
round trip instead of two while the events table is locked (docs/decisions/0032-append-in-one-call.md).
The event store creates `socialgov_insert_events` when it starts; PL/pgSQL looks it up only when called.
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
CREATE OR REPLACE FUNCTION socialgov_append(ids uuid[], versions bigint[], topics text[], states bytea[],
                                            names text[])
RETURNS TABLE (notification_id bigint, tracking_name text, tracking_position bigint, tracking_carry text)
LANGUAGE plpgsql AS $body$
BEGIN
    RETURN QUERY SELECT n, NULL::text, NULL::bigint, NULL::text
                 FROM public.socialgov_insert_events(ids, versions, topics, states) AS n;
    RETURN QUERY SELECT NULL::bigint, t.name::text, t.position::bigint, t.carry
                 FROM projection_tracking AS t WHERE t.name = ANY(names) ORDER BY t.name FOR UPDATE;
END
$body$
""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS socialgov_append(uuid[], bigint[], text[], bytea[], text[])")
