"""Throwaway redis-server and PostgreSQL for contract tests, started once per session.

Both run from Debian's binaries (``make test`` installs them as root), listen on 127.0.0.1
on a free port, keep everything in a temporary directory and are removed afterwards. They
never skip: a missing binary fails the test with the package to install.

Fixtures:
- ``redis_server`` (session): ``RedisServer`` with ``url``; ``redis_url`` (function): the same
  URL after ``FLUSHALL``, so each test starts empty.
- ``postgres_server`` (session): ``PostgresServer``; ``postgres_url`` (function): a
  ``postgresql+asyncpg://`` URL of a fresh, empty database, dropped after the test.

PostgreSQL refuses to run as root, so as root the cluster belongs to ``nobody`` and every
server-side command runs through ``runuser``; the client (psql, asyncpg) runs as anyone
because authentication is ``trust`` on loopback only.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "haven"
UNPRIVILEGED_USER = "nobody"


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (a race is possible; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require(binary: str | None, what: str, package: str) -> str:
    if binary is None:
        pytest.fail(
            f"{what} not found: install Debian's {package} "
            f"(`make test` does it when run as root: apt-get install -y {package})",
            pytrace=False,
        )
    return binary


# ---------------------------------------------------------------- redis


@dataclass(frozen=True)
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[str], int]:
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(workdir),
                "--logfile", "",
                "--daemonize", "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert process.stdout is not None
        output = []
        # Readiness is a log line, read as it comes: no polling, no sleeping.
        for line in process.stdout:
            output.append(line)
            if "Ready to accept connections" in line:
                return process, port
        process.wait()
        if not any("Address already in use" in line for line in output):
            pytest.fail("redis-server did not start:\n" + "".join(output[-20:]), pytrace=False)
    pytest.fail("redis-server: no free port after 3 attempts", pytrace=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = _require(shutil.which("redis-server"), "redis-server", "redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    process, port = _start_redis(binary, workdir)
    try:
        yield RedisServer(port=port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The throwaway Redis, emptied for this test."""
    import redis  # the sync client: no event loop needed in a sync fixture

    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PostgresServer:
    port: int
    bin_dir: Path
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str) -> None:
        """Run one statement as the superuser on the maintenance database."""
        subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-d", "postgres",
                "-c", sql,
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip


def _postgres_bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    initdb = _require(found[-1] if found else None, "PostgreSQL's initdb", "postgresql")
    return Path(initdb).parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = _require(shutil.which("runuser"), "runuser", "util-linux")
    return [runuser, "-u", UNPRIVILEGED_USER, "--", *command]


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(
        _as_server_user(command), cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{Path(command[0]).name} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _postgres_bin_dir()
    # Not tmp_path_factory: the unprivileged server user must own the directory and reach
    # it, and pytest's base temp directory is private to the user running the tests.
    root = Path(tempfile.mkdtemp(prefix="haven-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log = root / "data", root / "server.log"
    started = False
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D", str(data),
                "-U", PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=root,
        )  # fmt: skip
        for _attempt in range(3):
            port = free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                # A throwaway cluster: durability only costs time here.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            result = subprocess.run(
                _as_server_user(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                     "-w", "-t", "60", "start"]
                ),
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                started = True
                break
            server_log = log.read_text(errors="replace") if log.exists() else ""
            if "already in use" not in server_log:
                pytest.fail(f"PostgreSQL did not start:\n{server_log[-3000:]}", pytrace=False)
        if not started:
            pytest.fail("PostgreSQL: no free port after 3 attempts", pytrace=False)
        yield PostgresServer(port=port, bin_dir=bin_dir, socket_dir=root)
    finally:
        if started:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], cwd=root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database on the throwaway server; dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
