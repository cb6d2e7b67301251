"""The composition root: builds infra from settings and wires it into the services."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import UUID

from alembic import command
from alembic.config import Config
from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Engine

import migrations
from api.sqlite_writer import WriterProcess
from domain.trust import TrustSettings
from infra.client_secrets import Argon2Hasher, ClientSecretTable
from infra.clock import SystemClock
from infra.database import EventsSQLiteRecorder, QuietPostgresRecorder, make_engine, make_recorder
from infra.evidence_bundles import SignedBundleBuilder
from infra.feeds import FeedparserFetcher
from infra.idempotency import IdempotencyStore
from infra.mail import LogMailer, SmtpMailer
from infra.settings import Settings
from infra.storage import LocalFileStore
from infra.tokens import TokenService
from infra.vault import CredentialVault
from services import readmodel as rm
from services.accounts import Accounts
from services.applications import Applications
from services.authorisation import Principal
from services.directory import Directory
from services.eventstore import ContextApplication, build_mapper
from services.group_commit import GroupCommit, SharedCatchUp
from services.identity import PRINCIPALS, principal_for_person
from services.inbox import Inbox
from services.incidents import Incidents
from services.integrations import Integrations
from services.ports import Clock, Mailer, today_in_london
from services.projections.audit import ChainProjection
from services.projections.readmodel import ReadModelProjection
from services.projections.runner import Projector, ProjectorGroup
from services.pupils import ConsentRegister
from services.queries import ReadModelAccountLookups, ReadModelLookups


def migrate(engine: Engine) -> None:
    """Alembic upgrade to head; works from a checkout and from an installed wheel (migrations is a package)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def build_projections(engine: Engine, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> ProjectorGroup:
    """The read model and the audit chain, projected together; the same in the web process and in SQLite's writer
    process (decision 0041). On SQLite, a batch's events are inserted on the projection's own connection (decision
    0035); provisional principals are confirmed at commit against the directory's change mark (decision 0033)."""
    group = ProjectorGroup([Projector(engine, recorder, mapper, ReadModelProjection()),
                            Projector(engine, recorder, mapper, ChainProjection())])
    if isinstance(recorder, EventsSQLiteRecorder):
        group.insert = recorder.insert_events_in
    group.mark = rm.PRINCIPALS_CHANGED
    return group


@dataclass
class Container:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        s = self.settings
        self.engine = make_engine(s.database_url, s.db_pool_size)
        migrate(self.engine)
        self.recorder = make_recorder(s.database_url, s.db_pool_size)
        self.mapper = build_mapper()
        self.projection_engine = (self.engine if s.is_sqlite else
                                  make_engine(s.database_url, s.db_pool_size, durable_commits=False))
        self.projections = build_projections(self.projection_engine, self.recorder, self.mapper)
        self.projector, self.chain = self.projections.projectors
        self.read_your_writes = SharedCatchUp(self.projections.catch_up)
        self.tokens = TokenService(s.secret_key, s.token_ttl_minutes)
        self.idempotency = IdempotencyStore(self.engine)
        lookups = ReadModelLookups(self.engine)
        defaults = TrustSettings(response_hours=s.sla_response_hours, due_soon_hours=s.sla_due_soon_hours,
                                 end_of_day=s.end_of_day, training_validity_months=s.training_validity_months)
        defaults.validate()
        self.directory = Directory(self.recorder, self.clock, lookups, after_save=self.read_your_writes,
                                   trust_defaults=defaults)
        self.applications = Applications(self.recorder, self.clock, after_save=self.read_your_writes)
        self.vault = CredentialVault(self.engine, s.master_key, self.clock)
        self.accounts = Accounts(self.recorder, self.clock, self.vault, ReadModelAccountLookups(self.engine),
                                 after_save=self.read_your_writes)
        self.files = LocalFileStore(s.storage_dir)
        self.incidents = Incidents(self.recorder, self.clock, self.files, after_save=self.read_your_writes)
        self.bundles = SignedBundleBuilder(self.vault)
        self.mailer: Mailer = SmtpMailer(s.smtp_url) if s.smtp_url else LogMailer()
        self.integrations = Integrations(self.recorder, self.clock, Argon2Hasher(), ClientSecretTable(self.engine),
                                         after_save=self.read_your_writes)
        self.pupils = ConsentRegister(self.recorder, self.clock, self.engine, after_save=self.read_your_writes)
        self.inbox = Inbox(self.recorder, self.clock, self.engine, self.mailer, FeedparserFetcher(),
                           after_save=self.read_your_writes)
        self.projections.on_mark = functools.partial(PRINCIPALS.note_mark, self.engine)
        #: On SQLite, the process that writes and projects commands' events (decision 0041), if configured.
        self.writer: WriterProcess | None = None
        if s.is_sqlite and s.sqlite_writer_process and s.sqlite_path().name != ":memory:":
            self.writer = WriterProcess(s.database_url, s.db_pool_size, self.projections.on_mark, s.log_format,
                                        s.log_level)
        self.committer = GroupCommit(self.recorder)
        # A command's events are inserted and projected in one transaction (decisions 0030 and 0035).
        if isinstance(self.recorder, (QuietPostgresRecorder, EventsSQLiteRecorder)):
            self.committer.append, self.committer.projected = self.projections.append, self.read_your_writes.note
        if self.writer is not None:
            self.committer.append, self.committer.append_soon = self.writer, self.writer.append_soon
        self.committer.directory_mark = functools.partial(PRINCIPALS.read_mark, self.engine)
        for app in self.contexts:
            app.committer = self.committer
        if s.is_sqlite:  # one writer at a time: queue in-process instead of spinning on SQLite's file lock
            lock = threading.RLock()
            for part in (self.committer, self.projector, self.chain, self.projections):
                part.write_lock = lock
        self._closed = threading.Event()
        # Apply anything not yet projected (a crash between save and catch-up, or a migration that reset a
        # projection) before serving.
        self.projector.catch_up()
        self.chain.catch_up()

    @property
    def contexts(self) -> tuple[ContextApplication, ...]:
        return (self.directory, self.applications, self.accounts, self.incidents, self.inbox, self.integrations,
                self.pupils)

    def today(self) -> date:
        return today_in_london(self.clock)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.committer.close()
        if self.writer is not None:
            self.writer.close()
        for app in self.contexts:
            app.close()
        self.recorder.datastore.close() if hasattr(self.recorder, "datastore") else None
        rm.dispose(self.engine)
        rm.dispose(self.projection_engine)

    def refresh_principal(self, principal: Principal) -> Principal:
        """The same caller re-read after a command that changed what they can see (e.g. a new school)."""
        fresh = principal_for_person(self.engine, principal.id, principal.auth_method, principal.request_id,
                                     today=self.today())
        return fresh or principal
