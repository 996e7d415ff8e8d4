"""Alembic, driven from code: the plumbing's history, then each service's own, per service database.

Every service database holds two histories: the plumbing's tables (outbox,
processed events, dead letters; ``daiko/schema``, version table
``daiko_plumbing_version``) and the service's own (its ``migrations/`` folder,
named by its registration, version table ``alembic_version``). ``daiko
migrate`` (and the local stack's ``up``) applies both, plumbing first.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from daiko.registry import ServiceRegistration

PLUMBING_SCHEMA = Path(__file__).resolve().parent / "schema"
PLUMBING_VERSION_TABLE = "daiko_plumbing_version"


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


def upgrade(registration: ServiceRegistration, database: str | None = None) -> None:
    """Bring one service database to head: the plumbing's tables, then the service's own."""
    settings = registration.settings()
    url = settings.database_url(database or settings.database)
    command.upgrade(alembic_config(PLUMBING_SCHEMA, url), "head")
    command.upgrade(alembic_config(registration.migrations, url), "head")


def run_env(metadata: MetaData, *, version_table: str = "alembic_version") -> None:
    """The body of every history's ``env.py`` (online, async driver)."""
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection, target_metadata=metadata, compare_type=True, version_table=version_table
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(str(url), poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
