"""Programmatic Alembic: upgrade to head and tell whether a database is up to date.

The revisions live in ``migrations/`` at the top of the source tree (next to ``app/``), so
Haven runs from a checkout or an editable install (the Docker image uses one). Functions take
an ``AsyncEngine`` and share its connection with Alembic (Alembic's "connection sharing"
recipe), so they work inside a running event loop; ``migrations/env.py`` picks the
connection up from ``config.attributes``.
"""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config without an ini file (Haven's logging stays in place)."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}: run Haven from its source tree "
            "or an editable install (pip install -e .)"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision in ``migrations/versions``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; a no-op when it is already there."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    before = await current_revision(engine)
    async with engine.begin() as connection:
        await connection.run_sync(run)
    after = await current_revision(engine)
    if after != before:
        logger.info(
            "database schema upgraded from %s to %s",
            before or "(empty)",
            after,
            extra={"from_revision": before, "to_revision": after},
        )


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
