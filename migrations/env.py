"""Alembic environment: migrates the read-model (and other SQLAlchemy-owned) tables."""

from __future__ import annotations

from alembic import context

import infra.client_secrets
import infra.idempotency
import infra.sessions
import infra.vault  # noqa: F401
from infra.database import make_engine
from infra.settings import Settings
from services.readmodel import metadata

config = context.config
url = config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
