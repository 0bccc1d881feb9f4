"""The async engine and session factory, built from Settings (never at import time).

SQLite gets four pragmas on every new connection, because SQLite applies them per
connection, not per file:
- ``journal_mode=WAL``: readers do not block the writer (several workers share the file);
- ``foreign_keys=ON``: SQLite ignores REFERENCES clauses unless asked;
- ``busy_timeout=5000``: wait for a concurrent writer instead of failing with "locked";
- ``secure_delete=ON``: deleted rows are overwritten, not left in free pages
  (ECOSYSTEM.md: a canary survived in the file without it).
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA secure_delete=ON",
)


def _apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """An engine for ``settings.database_url``; the caller owns it and must ``dispose()`` it.

    Extra keyword arguments go to ``create_async_engine`` (tests pass ``poolclass``).
    """
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
        return engine
    # A pooled PostgreSQL connection may have been closed by the server or a proxy.
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(settings.database_url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit async lazy loads)."""
    return async_sessionmaker(engine, expire_on_commit=False)
