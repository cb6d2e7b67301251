"""Read-model tables kept by projections. Queries read only these; every row carries its tenant.

Owned here (not in infra/) because a projection and the shape it writes are one thing; infra owns the
engine and Alembic applies this metadata (docs/decisions/0004-read-model-tables-in-services.md).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    create_engine,
    select,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend: stored as UTC, always read back with tzinfo=UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

projection_tracking = Table(
    "projection_tracking", metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
)

trusts = Table(
    "rm_trusts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("response_hours", Integer, nullable=False),
    Column("due_soon_hours", Integer, nullable=False),
    Column("end_of_day", String(5), nullable=False),
    Column("training_validity_months", Integer, nullable=False),
    Column("assessment_working_days", Integer, nullable=False),
    Column("current_policy_version_id", Uuid, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

schools = Table(
    "rm_schools", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("urn", String(7), nullable=False),
    Column("nation", String(30), nullable=False),
    Column("timezone", String(60), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

policy_versions = Table(
    "rm_policy_versions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("summary", Text, nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
)

people = Table(
    "rm_people", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False, index=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("leaving_date", Date, nullable=True),
    Column("external_id", String(255), nullable=True),
    Index("ix_rm_people_trust_email", "trust_id", "email"),
)

role_assignments = Table(
    "rm_role_assignments", metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("scope_id", Uuid, primary_key=True, comment="the school, or the trust for a trust-wide role"),
    Column("role", String(30), primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=True, index=True),
)

training_records = Table(
    "rm_training_records", metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, nullable=False, index=True),
    Column("trust_id", Uuid, nullable=False),
    Column("course", String(300), nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
)

acknowledgements = Table(
    "rm_acknowledgements", metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("policy_version_id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("acknowledged_at", UtcDateTime(), nullable=False),
)

personal_accounts = Table(
    "rm_personal_accounts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("person_id", Uuid, nullable=False, index=True),
    Column("trust_id", Uuid, nullable=False),
    Column("platform", String(30), nullable=False),
    Column("handle", String(200), nullable=False),
    Column("names_school", Boolean, nullable=False),
    Column("disclaimer_present", Boolean, nullable=False),
    Column("declared_at", UtcDateTime(), nullable=False),
)

applications = Table(
    "rm_applications", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("applicant_id", Uuid, nullable=False),
    Column("applicant_name", String(200), nullable=False),
    Column("aim", Text, nullable=False),
    Column("audience", Text, nullable=False),
    Column("promotion", Text, nullable=False),
    Column("runner_ids", JSON, nullable=False),
    Column("visibility", String(10), nullable=False),
    Column("platform", String(30), nullable=False),
    Column("proposed_handle", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_rm_applications_school_status", "school_id", "status", "submitted_at"),
    Index("ix_rm_applications_trust_status", "trust_id", "status"),
)

#: How many applications each school has in each status, kept by the projection as applications are submitted
#: and decided, so that dashboards read one row per school and status instead of counting every application.
school_application_counts = Table(
    "rm_school_application_counts", metadata,
    Column("school_id", Uuid, primary_key=True),
    Column("status", String(20), primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("n", Integer, nullable=False),
)

accounts = Table(
    "rm_accounts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("application_id", Uuid, nullable=False),
    Column("platform", String(30), nullable=False),
    Column("handle", String(100), nullable=False),
    Column("url", String(500), nullable=True),
    Column("visibility", String(10), nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("credential_version", Integer, nullable=False),
    Column("credentials_stored_at", UtcDateTime(), nullable=True),
    Column("last_check_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("lapse_flagged", Boolean, nullable=False, default=False),
    Index("ix_rm_accounts_trust_status", "trust_id", "status"),
)

account_runners = Table(
    "rm_account_runners", metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("person_id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Index("ix_rm_account_runners_person", "person_id"),
)

rotation_requirements = Table(
    "rm_rotation_requirements", metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("leaver_id", Uuid, primary_key=True),
    Column("effective_on", Date, nullable=False),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
)

monitoring_checks = Table(
    "rm_monitoring_checks", metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True, comment="the account version the check was recorded at"),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("checked_by", Uuid, nullable=False),
    Column("checked_at", UtcDateTime(), nullable=False),
    Column("note", Text, nullable=True),
)

handovers = Table(
    "rm_handovers", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False, index=True),
    Column("leaver_id", Uuid, nullable=False),
    Column("leaver_name", String(200), nullable=False),
    Column("leaver_was_lead", Boolean, nullable=False),
    Column("leaving_date", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("outcome", String(30), nullable=True),
    Column("new_lead_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
)

incidents = Table(
    "rm_incidents", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("happened_at", UtcDateTime(), nullable=False),
    Column("reported_at", UtcDateTime(), nullable=False),
    Column("reporter_id", Uuid, nullable=False),
    Column("reporter_name", String(200), nullable=False),
    Column("involved", JSON, nullable=False),
    Column("account_id", Uuid, nullable=True),
    Column("post_ref", String(500), nullable=True),
    Column("interaction_id", Uuid, nullable=True),
    Column("restricted", Boolean, nullable=False),
    Column("named_slt_ids", JSON, nullable=False),
    Column("investigator_ids", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("risk_level", String(20), nullable=True),
    Column("safeguarding_concern", Boolean, nullable=True),
    Column("assessed_at", UtcDateTime(), nullable=True),
    Column("assessment_due_at", UtcDateTime(), nullable=False),
    Column("police_referred_at", UtcDateTime(), nullable=True),
    Column("crime_reference", String(100), nullable=True),
    Column("agencies", JSON, nullable=False),
    #: What was done on the platform and with the parents, oldest first (decision 0057): moderation actions
    #: {action, target, reason (told to the audience), by, role, at}; take-down steps {step, parent_name, notes,
    #: by, role, at}.
    Column("moderation_actions", JSON, nullable=False),
    Column("takedown_steps", JSON, nullable=False),
    Column("evidence_count", Integer, nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("outcome", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_rm_incidents_trust_status", "trust_id", "status"),
)

evidence_files = Table(
    "rm_evidence_files", metadata,
    Column("id", Uuid, primary_key=True),
    Column("incident_id", Uuid, nullable=False, index=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("added_at", UtcDateTime(), nullable=False),
    Column("added_by", String(200), nullable=False),
)

audit_events = Table(
    "rm_audit_events", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("originator_id", Uuid, nullable=False, index=True),
    Column("originator_version", Integer, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", JSON, nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_rm_audit_events_trust_time", "trust_id", "occurred_at"),
)

audit_entities = Table(
    "rm_audit_entities", metadata,
    Column("entity_id", Uuid, primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
)

#: The hash chain over the whole event log. Append-only: never part of a rebuild (see decision 0013).
audit_chain = Table(
    "audit_chain", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("link", String(64), nullable=False),
)

interactions = Table(
    "rm_interactions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("author_handle", String(200), nullable=False),
    Column("excerpt", Text, nullable=False),
    Column("link", String(1000), nullable=True),
    Column("assignee_id", Uuid, nullable=True),
    Column("first_response_at", UtcDateTime(), nullable=True),
    Column("status", String(20), nullable=False),
    Column("incident_id", Uuid, nullable=True),
    Column("reminded", Boolean, nullable=False),
    Column("breached", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_interactions_school_received", "school_id", "received_at"),
    Index("ix_rm_interactions_open_due", "first_response_at", "breached", "due_at"),
    Index("ix_rm_interactions_school_due", "school_id", "due_at"),  # the inbox page, in reply-due order
)

mentions = Table(
    "rm_mentions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("source", String(1000), nullable=False),
    Column("title", String(500), nullable=False),
    Column("summary", Text, nullable=False),
    Column("link", String(1000), nullable=True),
    Column("author", String(200), nullable=True),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("captured_at", UtcDateTime(), nullable=False),
    Column("decision", String(20), nullable=True),
    Column("incident_id", Uuid, nullable=True),
    Column("triaged_at", UtcDateTime(), nullable=True),
)

feeds = Table(
    "rm_feeds", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("url", String(1000), nullable=False),
    Column("title", String(200), nullable=False),
)

integration_clients = Table(
    "rm_integration_clients", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

pupils = Table(
    "rm_pupils", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("pupil_ref", String(50), nullable=False),
    Column("name", String(200), nullable=False),
    Column("year_group", String(20), nullable=False),
    Column("consent_school_accounts", Boolean, nullable=False),
    Column("consent_website", Boolean, nullable=False),
    Column("consent_press", Boolean, nullable=False),
    Column("no_publish", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_rm_pupils_school_ref", "school_id", "pupil_ref", unique=True),
)

posts = Table(
    "rm_posts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("author_id", Uuid, nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("content", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("findings", JSON, nullable=False),
    Column("worst", String(20), nullable=True, comment="the most serious finding's severity, if any"),
    Column("approval_because", JSON, nullable=False),
    Column("approver_ids", JSON, nullable=False),
    Column("approvals", JSON, nullable=False, comment="[{by, role, at, reason}] approvals and returns, in order"),
    Column("submitted_at", UtcDateTime(), nullable=True),
    Column("returned_reason", Text, nullable=True),
    Column("url", String(2000), nullable=True),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("published_by", String(200), nullable=True),
    Column("overridden", JSON, nullable=False),
    Column("override_reason", Text, nullable=True),
    Column("removed_at", UtcDateTime(), nullable=True),
    Column("removed_by", String(200), nullable=True),
    Column("removal_reason", Text, nullable=True),
    Column("told_audience", Text, nullable=True),
    Column("open_takedowns", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_posts_account_created", "account_id", "created_at"),
    Index("ix_rm_posts_school_status", "school_id", "status"),
)

post_takedowns = Table(
    "rm_post_takedowns", metadata,
    Column("id", Uuid, primary_key=True),
    Column("post_id", Uuid, nullable=False, index=True),
    Column("trust_id", Uuid, nullable=False),
    Column("school_id", Uuid, nullable=False, index=True),
    Column("account_id", Uuid, nullable=False),
    Column("parent_name", String(200), nullable=False),
    Column("contact", String(200), nullable=True),
    Column("concern", Text, nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("status", String(20), nullable=False, comment="open, or closed when the post is removed"),
)

#: Tables a projection rebuild empties and refills (everything but tracking).
PROJECTED_TABLES = [trusts, schools, policy_versions, people, role_assignments, training_records, acknowledgements,
                    personal_accounts, applications, school_application_counts, accounts, account_runners,
                    rotation_requirements, monitoring_checks, handovers, incidents, evidence_files, audit_events,
                    audit_entities, interactions, mentions, feeds, integration_clients, pupils, posts, post_takedowns]


READ_MODEL = "directory"  # the read-model projection's tracking row (its name from the first release)

#: The tables a caller's Principal is read from (identity.principal_for_person/_for_client).
PRINCIPAL_TABLES = frozenset(t.name for t in (people, role_assignments, schools, integration_clients))
#: A tracking row the read-model projection moves to the position of the last event that wrote to one of
#: PRINCIPAL_TABLES: cached principals stay valid while it is unchanged (identity.PrincipalCache).
PRINCIPALS_CHANGED = "directory.principals"
#: The tables dashboards' coverage figures (people, trained, acknowledged) are counted from, and the tracking
#: row moved when one of them changes: those figures are reused across commands that leave them alone.
COVERAGE_TABLES = frozenset(t.name for t in (trusts, people, role_assignments, training_records, acknowledgements))
COVERAGE_CHANGED = "directory.coverage"
#: Tracking rows the read-model projection moves to a batch's last position when the batch wrote to one of
#: their tables (ReadModelProjection.end).
#: Every projected table but the applications' and the audit trail's: the dashboards' account, incident and inbox
#: figures stay valid while it is unchanged, so a run of applications leaves them cached (decision 0025).
FIGURES_TABLES = frozenset(t.name for t in PROJECTED_TABLES) - {
    t.name for t in (applications, school_application_counts, audit_events, audit_entities)}
FIGURES_CHANGED = "directory.figures"
CHANGE_MARKS = {PRINCIPALS_CHANGED: PRINCIPAL_TABLES, COVERAGE_CHANGED: COVERAGE_TABLES,
                FIGURES_CHANGED: FIGURES_TABLES}


#: Per engine, a second engine whose connections stay in autocommit mode (PostgreSQL only).
_AUTOCOMMIT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_AUTOCOMMIT_LOCK = threading.Lock()


def _autocommit_engine(engine: Engine) -> Engine:
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        with _AUTOCOMMIT_LOCK:
            found = _AUTOCOMMIT.get(engine)
            if found is None:
                size = getattr(engine.pool, "size", lambda: 5)()
                found = _AUTOCOMMIT[engine] = create_engine(
                    engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, pool_size=size,
                    max_overflow=size)
    return found


def dispose(engine: Engine) -> None:
    """Closes the engine's pooled connections, and those of its autocommit companion."""
    companion = _AUTOCOMMIT.pop(engine, None)
    if companion is not None:
        companion.dispose()
    engine.dispose()


def single_read(engine: Engine) -> Connection:
    """A connection for a read that is one statement. On PostgreSQL from a companion pool whose connections stay
    in autocommit mode, so the driver sends no BEGIN before the statement and no ROLLBACK after it, and nothing
    switches the connection's mode on the way out of the pool and back (that switching cost more CPU than the
    statement; docs/decisions/0025). One statement is one snapshot anyway. On SQLite the driver begins no
    transaction for a read, so the engine's own connections serve."""
    return engine.connect() if engine.dialect.name == "sqlite" else _autocommit_engine(engine).connect()


class Tenant(Protocol):
    """Whose reads these are: a principal (services.authorisation.Principal)."""

    @property
    def trust_id(self) -> UUID: ...

    @property
    def trust_school_ids(self) -> frozenset[UUID]: ...

    @property
    def visible_school_ids(self) -> frozenset[UUID]: ...


#: The role a caller's reads run as on PostgreSQL, which row-level security confines to one trust and its schools
#: (migration 0011; docs/decisions/0036-row-level-security.md).
READER_ROLE = "socialgov_reader"
_SCOPE = text("SELECT set_config('role', :role, true), set_config('socialgov.trust', :trust, true), "
              "set_config('socialgov.schools', :schools, true)")


def read_as(engine: Engine, caller: Tenant) -> AbstractContextManager[Connection]:
    """A connection for `caller`'s reads, behind the second wall: the rows of their trust and of the schools they
    can see (every school of the trust for the trust team and integration clients)."""
    schools = caller.visible_school_ids
    return read_in(engine, caller.trust_id, None if schools == caller.trust_school_ids else schools)


@contextmanager
def read_in(engine: Engine, trust_id: UUID, school_ids: Collection[UUID] | None) -> Iterator[Connection]:
    """A connection whose reads see only `trust_id`'s rows and, of rows that belong to a school, those of
    `school_ids` (None: every school of the trust). On PostgreSQL the transaction runs as READER_ROLE, which may
    only SELECT, and row-level security holds it to these, whatever a query's own filter says: a query that forgot
    its tenant filter still cannot read another trust's rows. The settings are local to the transaction, which
    rolls back when the connection goes back to the pool. SQLite has no row-level security: there the queries'
    own filters are the only wall."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            schools = "*" if school_ids is None else "{" + ",".join(sorted(str(s) for s in school_ids)) + "}"
            conn.execute(_SCOPE, {"role": READER_ROLE, "trust": str(trust_id), "schools": schools})
        yield conn


#: Above this many schools, dashboard aggregates filter by trust only and the caller keeps the schools it asked
#: for: an IN list of a hundred ids is a hundred bind parameters to render and a statement too long for the
#: driver's query cache, which cost more than the rows of the other schools (docs/decisions/0024).
FEW_SCHOOLS = 20


def read_figures(engine: Engine, trust_id: UUID, school_ids: Collection[UUID]) -> AbstractContextManager[Connection]:
    """read_in for a dashboard's figures of `school_ids`: confined to those schools if few, else to every school of
    the trust, for the reason in_schools gives (the caller keeps the schools it asked for)."""
    return read_in(engine, trust_id, school_ids if len(school_ids) <= FEW_SCHOOLS else None)


def in_schools(column: ColumnElement[Any], school_ids: Sequence[UUID]) -> ColumnElement[bool]:
    """`column IN school_ids` for a few schools; for many, no condition (the query's trust filter bounds it)."""
    return column.in_(school_ids) if len(school_ids) <= FEW_SCHOOLS else true()


#: Built once: constructing a statement costs more than executing this one.
POSITION_OF = select(projection_tracking.c.position).where(projection_tracking.c.name == bindparam("name"))


def read_model_position(engine: Engine, name: str = READ_MODEL) -> int:
    """How far the read model has got in the event log: cached answers are valid while this is unchanged.
    With name=PRINCIPALS_CHANGED: the last event that changed anything a Principal is made of."""
    with single_read(engine) as conn:
        return position_on(conn, name)


def position_on(conn: Connection, name: str) -> int:
    """read_model_position on a connection (inside a transaction)."""
    return int(conn.execute(POSITION_OF, {"name": name}).scalar() or 0)


T = TypeVar("T")
_MISSING = object()


class MarkedCache:
    """Answers computed from the read model, reused while the position of one tracking row stands still: the whole
    read model (READ_MODEL) or a change mark that moves only when certain tables change (CHANGE_MARKS). One cheap
    query per use instead of the computation, and never stale: the mark moves in the transaction that changes the
    data. Keys are per database; callers put whatever else decides the answer (caller, time bucket) in the key."""

    def __init__(self, mark: str, size: int) -> None:
        self.mark = mark
        self.size = size
        self._items: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, engine: Engine, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        return self.get_with_mark(engine, key, compute)[0]

    def get_with_mark(self, engine: Engine, key: tuple[Any, ...], compute: Callable[[], T]) -> tuple[T, int]:
        """The answer and the mark's position it is valid at (read once, before any computing)."""
        mark = read_model_position(engine, self.mark)
        full = (str(engine.url), *key, mark)
        with self._lock:
            hit = self._items.get(full, _MISSING)
        if hit is not _MISSING:
            return cast(T, hit), mark
        value = compute()
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[full] = value
        return value, mark
