"""``haven meeting create ...`` and ``haven purge``."""

from datetime import UTC, datetime
from typing import Annotated, get_args

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.cli import public_base
from app.auth.models import Facilitator
from app.meetings import purge as retention
from app.meetings import service
from app.meetings.exceptions import MeetingError
from app.meetings.schemas import MeetingCreate, MeetingFormat
from app.store.engine import create_sessionmaker

meeting_app = typer.Typer(help="Meetings.", no_args_is_help=True)

_FORMATS = ", ".join(get_args(MeetingFormat))


@meeting_app.command("create")
def create(
    title: Annotated[str, typer.Argument(help="Shown in the directory and the room.")],
    format: Annotated[str, typer.Option(help=f"One of: {_FORMATS}.")] = "open-share",
    listed: Annotated[
        bool | None,
        typer.Option("--listed/--unlisted", help="In the public directory (default by format)."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Owner's username (default: the only/first admin).")
    ] = None,
    days: Annotated[str, typer.Option(help="Weekdays, 0=Monday, e.g. 0,2,4; empty: none.")] = "",
    start: Annotated[str, typer.Option(help="Local start time HH:MM.")] = "19:00",
    duration: Annotated[int, typer.Option(help="Minutes.")] = 60,
    tz: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    lobby: Annotated[bool, typer.Option("--lobby/--no-lobby")] = False,
) -> None:
    """Create a meeting and print its id and link."""
    from app.cli import fail, settings_or_exit, with_engine  # late: app.cli imports this module

    settings = settings_or_exit()
    try:
        weekdays = [int(day) for day in days.split(",") if day.strip()]
    except ValueError:
        fail("--days takes weekday numbers, 0 (Monday) to 6, e.g. 0,2,4", code=2)
    try:
        data = MeetingCreate.model_validate(
            {
                "title": title,
                "format": format,
                "listed": listed,
                "weekdays": weekdays,
                "start_time": start,
                "duration_min": duration,
                "timezone": tz,
                "lobby": lobby,
            }
        )
    except ValidationError as exc:
        fail(f"invalid meeting: {service.first_problem(exc)}", code=2)

    async def work(engine: AsyncEngine) -> tuple[str | None, str | None]:
        async with create_sessionmaker(engine)() as db:
            query = select(Facilitator)
            if owner is not None:
                query = query.where(Facilitator.username == owner.strip().lower())
            else:
                query = query.order_by(Facilitator.is_admin.desc(), Facilitator.created_at)
            facilitator = (await db.execute(query)).scalars().first()
            if facilitator is None:
                return "no such facilitator; create one with: haven facilitator add NAME", None
            try:
                meeting = await service.create_meeting(
                    db, facilitator, data, datetime.now(UTC), settings.room_capacity_default
                )
            except MeetingError as exc:
                return str(exc), None
            await db.commit()
            return None, meeting.id

    problem, meeting_id = with_engine(settings, work)
    if problem is not None or meeting_id is None:
        fail(problem or "no meeting created", code=2)
    typer.echo(meeting_id)
    typer.echo(service.meeting_url(public_base(settings), meeting_id))


def purge_command() -> None:
    """Delete what is past retention now (the server also does it hourly).

    Occurrences and audit older than HAVEN_RETENTION_DAYS, expired sessions and invites.
    """
    from app.cli import settings_or_exit, with_engine  # late: app.cli imports this module

    settings = settings_or_exit()

    async def work(engine: AsyncEngine) -> retention.PurgeReport:
        return await retention.purge(
            create_sessionmaker(engine), datetime.now(UTC), settings.retention_days
        )

    report = with_engine(settings, work)
    typer.echo(
        f"removed {report.audit} audit entries, {report.occurrences} occurrences, "
        f"{report.sessions} expired sessions, {report.invites} invites "
        f"(older than {settings.retention_days} days or expired)"
    )
