"""``haven facilitator ...``: create accounts and invitations from the server's shell.

Passwords are read from a hidden prompt, or from the first line of stdin when stdin is not a
terminal (scripts: ``printf '%s\\n' "$PW" | haven facilitator add ana``); never from argv,
where every user of the machine could read them in the process list and shell history.
"""

import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth import service
from app.auth.exceptions import AuthError
from app.auth.models import Facilitator
from app.store.engine import create_sessionmaker

facilitator_app = typer.Typer(help="Facilitator accounts.", no_args_is_help=True)


def read_password(prompt: str = "Password") -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


def public_base(settings: object) -> str:
    configured = getattr(settings, "public_url", None)
    if configured:
        return str(configured)
    return f"http://{getattr(settings, 'host', '127.0.0.1')}:{getattr(settings, 'port', 8000)}"


@facilitator_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: 2-32 of a-z 0-9 . _ -")],
    display_name: Annotated[
        str | None, typer.Option(help="Name shown to members (default: the username).")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May invite facilitators.")] = False,
) -> None:
    """Create a facilitator account (the first account is always an administrator)."""
    from app.cli import fail, settings_or_exit, with_engine  # late: app.cli imports this module

    settings = settings_or_exit()
    password = read_password()

    async def work(engine: AsyncEngine) -> tuple[str | None, bool]:
        async with create_sessionmaker(engine)() as db:
            first = await service.count_facilitators(db) == 0
            try:
                facilitator = await service.create_facilitator(
                    db,
                    username,
                    display_name or username,
                    password,
                    datetime.now(UTC),
                    is_admin=admin or first,
                )
            except (AuthError, ValueError) as exc:
                return str(exc), False
            await db.commit()
            return None, facilitator.is_admin

    problem, is_admin = with_engine(settings, work)
    if problem is not None:
        fail(problem, code=2)
    role = "administrator" if is_admin else "facilitator"
    typer.echo(f"created {role} {username.strip().lower()}")
    typer.echo(f"log in at {public_base(settings)}/console")


@facilitator_app.command("invite")
def invite(
    by: Annotated[
        str | None, typer.Option(help="Administrator issuing it (default: the first one).")
    ] = None,
) -> None:
    """Print a single-use link (valid 72 hours) that lets a new facilitator set a password."""
    from app.cli import fail, settings_or_exit, with_engine  # late: app.cli imports this module

    settings = settings_or_exit()

    async def work(engine: AsyncEngine) -> tuple[str | None, service.IssuedInvite | None]:
        async with create_sessionmaker(engine)() as db:
            query = select(Facilitator).where(
                Facilitator.is_admin.is_(True), Facilitator.disabled.is_(False)
            )
            if by is not None:
                query = query.where(Facilitator.username == by.strip().lower())
            issuer = (await db.execute(query.order_by(Facilitator.created_at))).scalars().first()
            if issuer is None:
                return "no such administrator; create one with: haven facilitator add --admin", None
            issued = await service.create_invite(db, issuer.id, datetime.now(UTC))
            await db.commit()
            return None, issued

    problem, issued = with_engine(settings, work)
    if problem is not None or issued is None:
        fail(problem or "no invite created")
    typer.echo(service.invite_url(public_base(settings), issued.token))
    typer.echo(f"valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, for one account")


def _change_account(
    username: str, change: str, apply: Callable[[AsyncSession, Facilitator], Awaitable[None]]
) -> None:
    """Run ``apply(db, facilitator)`` on the account ``username``; print ``change`` when done."""
    from app.cli import fail, settings_or_exit, with_engine  # late: app.cli imports this module

    settings = settings_or_exit()

    async def work(engine: AsyncEngine) -> str | None:
        async with create_sessionmaker(engine)() as db:
            facilitator = await service.find_by_username(db, username)
            if facilitator is None:
                return f"no account {username.strip().lower()}"
            try:
                await apply(db, facilitator)
            except AuthError as exc:
                return str(exc)
            await db.commit()
            return None

    problem = with_engine(settings, work)
    if problem is not None:
        fail(problem, code=2)
    typer.echo(f"{change}: {username.strip().lower()}")


@facilitator_app.command("passwd")
def passwd(
    username: Annotated[str, typer.Argument(help="The account's login name.")],
    reset_totp: Annotated[
        bool, typer.Option("--reset-totp", help="Also remove its second factor (TOTP).")
    ] = False,
) -> None:
    """Set a new password; every session of the account ends (the holder of a stolen one too)."""
    password = read_password("New password")

    async def apply(db: AsyncSession, facilitator: Facilitator) -> None:
        await service.reset_password(db, facilitator, password, clear_totp=reset_totp)

    done = "password set, sessions ended" + (", second factor removed" if reset_totp else "")
    _change_account(username, done, apply)


@facilitator_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The account's login name.")]) -> None:
    """Turn an account off: it cannot log in, and its sessions end at once."""

    async def apply(db: AsyncSession, facilitator: Facilitator) -> None:
        await service.set_disabled(db, facilitator, True)

    _change_account(username, "disabled, sessions ended", apply)


@facilitator_app.command("enable")
def enable(username: Annotated[str, typer.Argument(help="The account's login name.")]) -> None:
    """Turn a disabled account on again."""

    async def apply(db: AsyncSession, facilitator: Facilitator) -> None:
        await service.set_disabled(db, facilitator, False)

    _change_account(username, "enabled", apply)
