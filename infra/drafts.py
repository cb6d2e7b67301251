"""Answers a person has given so far on a multi-page web form (decision 0053): one row per person and form, kept
in the database so that every web process sees them, they survive a restart and the browser's Back button, and
nothing rides in a cookie or the address.

    drafts = Drafts(engine)
    answers = drafts.get(person_id, "application:<school id>", now)      # {} when none (or expired)
    drafts.save(person_id, "application:<school id>", {**answers, "aim": "..."}, now)
    drafts.discard(person_id, "application:<school id>")                # once the form is sent

A draft lasts `lifetime` (7 days) from its last change; expired drafts are ignored and removed as others are saved.
Answers are plain JSON (strings and lists of strings); the pages check them again before sending.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, Engine, String, Table, Uuid, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from services.readmodel import UtcDateTime, metadata

web_drafts = Table(
    "web_drafts", metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("form", String(100), primary_key=True, comment="which form, e.g. application:<school id>"),
    Column("answers", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)


class Drafts:
    def __init__(self, engine: Engine, lifetime: timedelta = timedelta(days=7)) -> None:
        self.engine = engine
        self.lifetime = lifetime

    def get(self, person_id: UUID, form: str, now: datetime) -> dict[str, Any]:
        """The person's answers so far on `form` ({} if none, or if the draft has expired)."""
        t = web_drafts
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.answers, t.c.expires_at)
                               .where(t.c.person_id == person_id, t.c.form == form)).first()
        if row is None or row.expires_at <= now or not isinstance(row.answers, dict):
            return {}
        return dict(row.answers)

    def save(self, person_id: UUID, form: str, answers: dict[str, Any], now: datetime) -> None:
        """Replaces the person's answers on `form` (one statement: two tabs saving at once cannot collide)."""
        t = web_drafts
        values = {"person_id": person_id, "form": form, "answers": answers, "updated_at": now,
                  "expires_at": now + self.lifetime}
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(t).values(**values)
        upsert = upsert.on_conflict_do_update(index_elements=[t.c.person_id, t.c.form],
                                              set_={k: upsert.excluded[k] for k in ("answers", "updated_at",
                                                                                    "expires_at")})
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.expires_at <= now))
            conn.execute(upsert)

    def discard(self, person_id: UUID, form: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_drafts).where(web_drafts.c.person_id == person_id, web_drafts.c.form == form))
