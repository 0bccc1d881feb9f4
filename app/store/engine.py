"""The async engine and session factory, built from Settings (never at import time).

SQLite gets four pragmas on every new connection, because SQLite applies them per
connection, not per file:
- ``journal_mode=WAL``: readers do not block the writer (several workers share the file);
- ``foreign_keys=ON``: SQLite ignores REFERENCES clauses unless asked;
- ``busy_timeout=5000``: wait for a concurrent writer instead of failing with "locked";
- ``secure_delete=ON``: deleted rows are overwritten, not left in free pages
  (ECOSYSTEM.md: a canary survived in the file without it).
"""

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
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


logger = logging.getLogger("haven.store")

_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def private_sqlite_file(database_url: str) -> None:
    """Make the SQLite database readable by its owner only: created with mode 0600 before
    SQLite first opens it (its journal files take the database's mode), and tightened to
    0600 when found open to other users (a data directory made by hand, an older install).
    It holds the password hashes and two-factor secrets."""
    url = make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            if part.exists() and part.stat().st_mode & _OTHERS:
                os.chmod(part, 0o600)
                logger.warning("%s was open to other users; now mode 0600", part.name)
    except OSError as exc:  # SQLite reports what it cannot open itself
        logger.warning("cannot restrict the database file's mode: %s", exc.strerror)


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """An engine for ``settings.database_url``; the caller owns it and must ``dispose()`` it.

    Extra keyword arguments go to ``create_async_engine`` (tests pass ``poolclass``).
    """
    if settings.is_sqlite:
        private_sqlite_file(settings.database_url)
        engine = create_async_engine(settings.database_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
        return engine
    # A pooled PostgreSQL connection may have been closed by the server or a proxy.
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(settings.database_url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit async lazy loads)."""
    return async_sessionmaker(engine, expire_on_commit=False)
