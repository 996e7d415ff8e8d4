"""Alembic, one migration history per service database, driven from code.

Each service keeps ``services/<name>/migrations/`` whose ``env.py`` calls
:func:`run_env`; ``daiko migrate`` (and ``daiko stack up``) upgrades all three.
"""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from daiko.settings import PROJECT_ROOT, DaikoSettings

SERVICES = ("orders", "deposits", "messaging")


def service_database(settings: DaikoSettings, service: str) -> str:
    return str(getattr(settings, f"{service}_database"))


def alembic_config(settings: DaikoSettings, service: str, database: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", settings.database_url(database or service_database(settings, service)))
    return cfg


def upgrade(settings: DaikoSettings, service: str, database: str | None = None) -> None:
    command.upgrade(alembic_config(settings, service, database), "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py`` (online, async driver)."""
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(str(url), poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
