"""The ``haven`` command: serve, database schema, version.

Exit codes: 0 success; 1 the command could not do its job (database unreachable or behind);
2 invalid configuration or usage. Errors are one line on stderr starting with ``haven:``,
never a traceback, and never a setting's value (it may hold a password).

Other packages add command groups with ``app.add_typer(their_typer, name="...")`` below.
"""

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deadline import DeadlineHttpProtocol
from app.auth.cli import facilitator_app
from app.config import ConfigError, Settings, env_name, load_settings
from app.logs import log_config, setup_logging
from app.main import haven_version
from app.meetings.cli import meeting_app, purge_command
from app.moderation.cli import moderation_cli
from app.store import migrate
from app.store.engine import create_engine

T = TypeVar("T")

app = typer.Typer(
    name="haven",
    help="Haven: anonymous peer-support meetings, self-hosted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(facilitator_app, name="facilitator")
app.add_typer(meeting_app, name="meeting")
app.command("purge")(purge_command)
app.add_typer(moderation_cli, name="moderation")
# Other command groups are added here, e.g. app.add_typer(facilitator_app, name="facilitator").

# uvicorn's protocol class for WebSockets; the rooms package may swap in its own.
WS_PROTOCOL = "app.rooms.fastws:HavenWebSocketProtocol"
APP_FACTORY = "app.main:create_app"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one ``haven: ...`` line on stderr and exit with ``code``."""
    typer.echo(f"haven: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """Load Settings from the environment, or exit 2 with one line naming the setting."""
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc), code=2)


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work(engine)`` in a fresh event loop; a database failure exits 1."""

    async def run() -> T:
        engine = create_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, SQLAlchemyError) as exc:
        fail(
            f"cannot use the database {settings.database_url_safe}: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def _behind_message(current: str | None, head: str | None) -> str:
    return (
        f"database schema is at revision {current or '(empty)'} but this version needs "
        f"{head}; run: haven db upgrade"
    )


async def _prepare_database(settings: Settings, engine: AsyncEngine) -> str | None:
    """SQLite: migrate (single box, nothing else to coordinate with). PostgreSQL: only check,
    because an upgrade there is an operator's decision taken once for all hosts."""
    if settings.is_sqlite:
        await migrate.upgrade(engine)
        return None
    if await migrate.is_up_to_date(engine):
        return None
    return _behind_message(await migrate.current_revision(engine), migrate.head_revision())


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` shared with the test server."""
    return {
        # uvicorn's httptools protocol with a deadline for each request to arrive (slowloris).
        "http": functools.partial(
            DeadlineHttpProtocol, request_timeout_s=settings.handshake_timeout_s
        ),
        "ws": WS_PROTOCOL,
        "ws_max_size": settings.max_frame_bytes,
        # Compression lets a small frame inflate past limits and costs CPU per member.
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ping_interval_s,
        "ws_ping_timeout": settings.ping_timeout_s,
        "access_log": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies) or None,
        "server_header": False,
        "lifespan": "on",
    }


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (HAVEN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (HAVEN_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (HAVEN_WORKERS).")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create a demo meeting (HAVEN_DEMO).")
    ] = False,
) -> None:
    """Run the server (SQLite: migrates first; PostgreSQL: refuses a schema behind head)."""
    # Flags become HAVEN_* variables: each worker builds its own Settings from the environment.
    flags = {"host": host, "port": port, "workers": workers, "demo": True if demo else None}
    for field, value in flags.items():
        if value is not None:
            os.environ[env_name(field)] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    problem = with_engine(settings, lambda engine: _prepare_database(settings, engine))
    if problem is not None:
        fail(problem)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    typer.echo(f"Haven {haven_version()} is running at {base}/ (press Ctrl+C to stop)")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=log_config(settings.log_level),
        # None: keep log_config's levels (uvicorn would lower uvicorn.error to DEBUG).
        log_level=None,
        **uvicorn_options(settings),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (safe to run again)."""
    settings = settings_or_exit()
    setup_logging(settings.log_level)

    async def upgrade(engine: AsyncEngine) -> str | None:
        await migrate.upgrade(engine)
        return await migrate.current_revision(engine)

    revision = with_engine(settings, upgrade)
    typer.echo(f"database {settings.database_url_safe} is at revision {revision} (head)")


@db_app.command("check")
def db_check() -> None:
    """Exit 0 if the schema is at head, 1 if it needs `haven db upgrade`."""
    settings = settings_or_exit()
    current = with_engine(settings, migrate.current_revision)
    head = migrate.head_revision()
    if current != head:
        fail(_behind_message(current, head))
    typer.echo(f"database schema is up to date (revision {head})")


@app.command()
def version() -> None:
    """Print Haven's version."""
    typer.echo(f"haven {haven_version()}")


def main() -> None:
    app()
