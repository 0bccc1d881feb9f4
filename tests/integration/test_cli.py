"""The `haven` command as an operator runs it: a real process, real exit codes, real output."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

HAVEN = str(Path(sys.executable).with_name("haven"))
TIMEOUT_S = 60


def haven_env(**overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAVEN_")}
    env.update(overrides)
    return env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAVEN, *args], env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def test_version(tmp_path: Path) -> None:
    result = run("version", env=haven_env())
    assert result.returncode == 0
    assert result.stdout.startswith("haven ")


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "check"], ["serve"]])
def test_bad_database_url_is_one_line_naming_the_setting(
    tmp_path: Path, command: list[str]
) -> None:
    env = haven_env(
        HAVEN_DATA_DIR=str(tmp_path), HAVEN_DATABASE_URL="mysql://root:hunter2@db/haven"
    )
    result = run(*command, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("haven: invalid setting HAVEN_DATABASE_URL: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_unwritable_data_dir_is_one_line(tmp_path: Path) -> None:
    # A path under a regular file: unwritable even for root, unlike a chmod.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run("db", "upgrade", env=haven_env(HAVEN_DATA_DIR=str(blocker / "data")))
    assert result.returncode == 2
    assert result.stderr.startswith("haven: invalid setting HAVEN_DATA_DIR: cannot create")
    assert result.stderr.count("\n") == 1


def test_db_upgrade_twice_then_check(tmp_path: Path) -> None:
    env = haven_env(HAVEN_DATA_DIR=str(tmp_path))
    behind = run("db", "check", env=env)
    assert behind.returncode == 1
    assert "haven db upgrade" in behind.stderr
    for _ in range(2):
        result = run("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
        assert "(head)" in result.stdout
    check = run("db", "check", env=env)
    assert check.returncode == 0
    assert "up to date" in check.stdout


@pytest.mark.postgres
def test_serve_refuses_a_postgresql_schema_behind_head(tmp_path: Path, postgres_url: str) -> None:
    env = haven_env(HAVEN_DATA_DIR=str(tmp_path), HAVEN_DATABASE_URL=postgres_url)
    result = run("serve", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("haven: database schema is at revision (empty)")
    assert result.stderr.strip().endswith("run: haven db upgrade")
    assert result.stderr.count("\n") == 1


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    """`haven serve` in a child process; yields it once uvicorn reports start-up complete."""
    port = free_port()
    env = haven_env(HAVEN_DATA_DIR=str(tmp_path), HAVEN_PORT=str(port))
    process = subprocess.Popen(
        [HAVEN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        # stderr is a pipe, not a terminal: JSON lines. Read until start-up completes.
        for line in process.stderr:
            lines.append(line)
            if "Application startup complete" in line:
                break
        else:
            pytest.fail("haven serve exited:\n" + "".join(lines))
        yield process, port, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=TIMEOUT_S)
        finally:
            process.kill()


def test_serve_migrates_sqlite_and_logs_json_without_addresses(
    served: tuple[subprocess.Popen[str], int, list[str]],
) -> None:
    process, port, lines = served
    response = httpx.get(f"http://127.0.0.1:{port}/readyz?ticket=SECRET-TICKET", timeout=10)
    assert response.status_code == 200
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0
    assert f"is running at http://127.0.0.1:{port}/" in out
    records = [json.loads(line) for line in [*lines, *err.splitlines()] if line.strip()]
    messages = [record["msg"] for record in records]
    assert any("database schema upgraded from (empty)" in message for message in messages)
    assert {"level", "logger", "msg", "ts"} <= records[0].keys()
    access = [record for record in records if record["logger"] == "app.access"]
    assert [(r["method"], r["route"], r["status"]) for r in access] == [("GET", "/readyz", 200)]
    everything = "".join(lines) + err
    assert "127.0.0.1" not in everything
    assert "SECRET-TICKET" not in everything
    assert not any(record["logger"] == "uvicorn.access" for record in records)
