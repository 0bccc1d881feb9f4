"""The SQLite database holds password hashes and two-factor secrets: its owner only reads it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.config import Settings
from app.store.engine import create_engine, private_sqlite_file
from app.store.migrate import upgrade


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_in_a_directory_others_can_read_is_the_owners_only(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # made by hand, before the first start
    settings = Settings(data_dir=data)
    engine = create_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    for path in data.glob("haven.db*"):
        assert mode_of(path) == 0o600, path.name


def test_a_database_left_open_to_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "haven.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    wal = tmp_path / "haven.db-wal"
    wal.write_bytes(b"")
    wal.chmod(0o664)
    private_sqlite_file(f"sqlite+aiosqlite:///{path}")
    assert mode_of(path) == 0o600 and mode_of(wal) == 0o600


def test_other_databases_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    private_sqlite_file("sqlite+aiosqlite:///:memory:")
    private_sqlite_file("postgresql+asyncpg://u:p@127.0.0.1/haven")
    assert list(tmp_path.iterdir()) == []
