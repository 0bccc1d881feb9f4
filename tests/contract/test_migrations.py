"""Migrations against every supported database: SQLite and a throwaway PostgreSQL.

- upgrading is idempotent and lands on head;
- the migrated schema equals the models (autogenerate's ``compare_metadata`` finds nothing),
  so a model change without its revision fails here;
- every revision downgrades and upgrades again;
- timestamps come back timezone-aware UTC on both backends.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.store import migrate
from app.store.engine import create_engine
from app.store.models import metadata
from app.store.types import UTCDateTime

TABLES = {
    "facilitators",
    "facilitator_sessions",
    "invites",
    "meetings",
    "meeting_facilitators",
    "occurrences",
    "audit",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        settings = Settings(data_dir=tmp_path, database_url=url)
    engine = create_engine(settings)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    assert await migrate.current_revision(engine) is None
    assert not await migrate.is_up_to_date(engine)
    await migrate.upgrade(engine)
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()
    assert await migrate.is_up_to_date(engine)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables >= TABLES


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)
    async with engine.connect() as connection:
        diff = await connection.run_sync(_schema_diff)
    assert diff == [], "models changed without a migration: run alembic revision --autogenerate"


async def test_every_revision_downgrades_and_upgrades_again(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine)

    def down_to_base(connection: Connection) -> None:
        command.downgrade(migrate.alembic_config(connection), "base")

    async with engine.begin() as connection:
        await connection.run_sync(down_to_base)
    assert await migrate.current_revision(engine) is None
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert not tables & TABLES
    await migrate.upgrade(engine)
    assert await migrate.is_up_to_date(engine)


async def test_timestamps_come_back_aware_utc(engine: AsyncEngine) -> None:
    probe = Table(
        "utc_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    paris_winter = timezone(timedelta(hours=1))
    written = datetime(2026, 1, 5, 19, 30, tzinfo=paris_winter)
    async with engine.begin() as connection:
        await connection.run_sync(probe.create)
        await connection.execute(probe.insert().values(id=1, at=written))
        read = (await connection.execute(select(probe.c.at))).scalar_one()
        with pytest.raises(StatementError, match="naive datetime"):
            await connection.execute(probe.insert().values(id=2, at=datetime(2026, 1, 5)))
    assert read == written
    assert read.tzinfo == UTC


async def test_sqlite_connections_get_the_pragmas(tmp_path: Path) -> None:
    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        async with engine.connect() as connection:
            values = {
                pragma: (await connection.execute(text(f"PRAGMA {pragma}"))).scalar()
                for pragma in ("journal_mode", "foreign_keys", "busy_timeout", "secure_delete")
            }
    finally:
        await engine.dispose()
    assert values == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "secure_delete": 1,
    }
