"""the incident read shows its moderation actions and parents' take-down steps

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 09:00:00

Issue 21 item 6 (docs/decisions/0057-moderation-in-the-incident-read.md): rm_incidents gets two JSON lists,
`moderation_actions` and `takedown_steps`, which the projection keeps from now on. They are filled here from the
audit trail's copy of the events already recorded (rm_audit_events, in position order), in the same transaction,
so they match the read model's tracking position.
"""
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _at(value: datetime) -> str:
    """rm_audit_events.occurred_at as the projection writes it: ISO 8601 in UTC (SQLite stores it naive, in UTC)."""
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()


def upgrade() -> None:
    with op.batch_alter_table('rm_incidents') as batch:
        batch.add_column(sa.Column('moderation_actions', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('takedown_steps', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    bind = op.get_bind()
    events = sa.table('rm_audit_events', sa.column('position', sa.BigInteger()),
                      sa.column('originator_id', sa.Uuid()), sa.column('event_type', sa.String()),
                      sa.column('occurred_at', sa.DateTime(timezone=True)), sa.column('actor', sa.JSON()),
                      sa.column('reason', sa.Text()), sa.column('data', sa.JSON()))
    incidents = sa.table('rm_incidents', sa.column('id', sa.Uuid()), sa.column('moderation_actions', sa.JSON()),
                         sa.column('takedown_steps', sa.JSON()))
    found: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"moderation_actions": [],
                                                                               "takedown_steps": []})
    rows = bind.execute(sa.select(events).where(events.c.event_type.in_(
        ["ModerationActionTaken", "TakedownStepRecorded"])).order_by(events.c.position))
    for row in rows:
        who = {"by": row.actor.get("display_name"), "role": row.actor.get("role"), "at": _at(row.occurred_at)}
        if row.event_type == "ModerationActionTaken":
            found[row.originator_id]["moderation_actions"].append(
                {"action": row.data.get("action"), "target": row.data.get("target"), "reason": row.reason, **who})
        else:
            found[row.originator_id]["takedown_steps"].append(
                {"step": row.data.get("step"), "parent_name": row.data.get("parent_name"),
                 "notes": row.data.get("notes"), **who})
    for incident_id, lists in found.items():
        bind.execute(sa.update(incidents).where(incidents.c.id == incident_id).values(**lists))


def downgrade() -> None:
    with op.batch_alter_table('rm_incidents') as batch:
        batch.drop_column('takedown_steps')
        batch.drop_column('moderation_actions')
