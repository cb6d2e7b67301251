"""The composition root: builds infra from settings and wires it into the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

import migrations
from domain.trust import TrustSettings
from infra.client_secrets import Argon2Hasher, ClientSecretTable
from infra.clock import SystemClock
from infra.database import EventTable, make_engine, make_recorder
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
from services.event_log import EventLog
from services.eventstore import ContextApplication, build_mapper
from services.identity import principal_for_person
from services.inbox import Inbox
from services.incidents import Incidents
from services.integrations import Integrations
from services.ports import Clock, Mailer, today_in_london
from services.posts import Posts
from services.projections.audit import ChainProjection
from services.projections.readmodel import ReadModelProjection
from services.projections.runner import Projections
from services.pupils import ConsentRegister
from services.queries import ReadModelAccountLookups, ReadModelLookups


def migrate(engine: Engine) -> None:
    """Alembic upgrade to head; works from a checkout and from an installed wheel (migrations is a package)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


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
        self.event_table = table = EventTable(self.engine)
        self.projections = Projections(self.engine, table, self.recorder, self.mapper,
                                       [ReadModelProjection(), ChainProjection()])
        log = EventLog(table, self.projections)
        self.tokens = TokenService(s.secret_key, s.token_ttl_minutes)
        self.idempotency = IdempotencyStore(self.engine)
        defaults = TrustSettings(response_hours=s.sla_response_hours, due_soon_hours=s.sla_due_soon_hours,
                                 end_of_day=s.end_of_day, training_validity_months=s.training_validity_months)
        defaults.validate()
        self.directory = Directory(self.recorder, self.clock, log, ReadModelLookups(self.engine),
                                   trust_defaults=defaults)
        self.applications = Applications(self.recorder, self.clock, log)
        self.vault = CredentialVault(self.engine, s.master_key, self.clock)
        self.accounts = Accounts(self.recorder, self.clock, log, self.vault, ReadModelAccountLookups(self.engine))
        self.files = LocalFileStore(s.storage_dir)
        self.incidents = Incidents(self.recorder, self.clock, log, self.files)
        self.bundles = SignedBundleBuilder(self.vault)
        self.mailer: Mailer = SmtpMailer(s.smtp_url) if s.smtp_url else LogMailer()
        self.integrations = Integrations(self.recorder, self.clock, log, Argon2Hasher(),
                                         ClientSecretTable(self.engine))
        self.pupils = ConsentRegister(self.recorder, self.clock, log, self.engine)
        self.inbox = Inbox(self.recorder, self.clock, log, self.engine, self.mailer, FeedparserFetcher())
        self.posts = Posts(self.recorder, self.clock, log, self.engine)
        self._closed = False
        # Apply anything not yet projected (a bulk import, or a migration that reset a projection) before serving.
        self.projections.catch_up()

    @property
    def contexts(self) -> tuple[ContextApplication, ...]:
        return (self.directory, self.applications, self.accounts, self.incidents, self.inbox, self.integrations,
                self.pupils, self.posts)

    def today(self) -> date:
        return today_in_london(self.clock)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for app in self.contexts:
            app.close()
        self.recorder.datastore.close() if hasattr(self.recorder, "datastore") else None
        self.event_table.close()
        rm.dispose(self.engine)

    def refresh_principal(self, principal: Principal) -> Principal:
        """The same caller re-read after a command that changed what they can see (e.g. a new school)."""
        fresh = principal_for_person(self.engine, principal.id, principal.auth_method, principal.request_id,
                                     today=self.today())
        return fresh or principal
