"""First run: one facilitator and one live demo meeting, so a newcomer can try both sides.

``ensure_demo`` runs at start-up when ``HAVEN_DEMO`` is set (``haven serve --demo``). On a
database with no facilitators it creates the administrator ``host`` with a random password
and a listed, always-on "Open share (demo)" meeting, and returns the password so the caller
can print it once; it is never stored in clear or logged. On later starts it only finds the
demo meeting again (no password: it was shown the first time).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import service as accounts
from app.auth.exceptions import UsernameTaken
from app.auth.models import Facilitator
from app.meetings import service as meetings
from app.meetings.models import Meeting
from app.meetings.schemas import MeetingCreate, Reading

DEMO_USERNAME = "host"
DEMO_DISPLAY_NAME = "Host"
DEMO_TITLE = "Open share (demo)"
PREAMBLE = Reading(
    title="Preamble",
    text=(
        "Welcome to this open share. This is a demo meeting on a Haven server: try raising "
        "your hand, sharing, and reacting. Use a first name or a pseudonym only. Who you see "
        "here, what you hear here, stays here. Nothing said in this room is stored."
    ),
)


@dataclass(frozen=True)
class Demo:
    meeting_id: str
    # The new account's password, only on the run that created it.
    password: str | None


async def ensure_demo(
    session_maker: async_sessionmaker[AsyncSession], now: datetime, default_capacity: int
) -> Demo | None:
    """Create the demo account and meeting on an empty database, else find the meeting.

    Returns None when the database already has facilitators but no demo meeting (an operator
    set it up for real; the demo does not add an account behind their back)."""
    async with session_maker() as db:
        if await accounts.count_facilitators(db) == 0:
            password = secrets.token_urlsafe(12)
            try:
                host = await accounts.create_facilitator(
                    db, DEMO_USERNAME, DEMO_DISPLAY_NAME, password, now, is_admin=True
                )
            except UsernameTaken:
                # Another worker won the race; use what it created.
                await db.rollback()
                return await _find(db)
            meeting = await meetings.create_meeting(
                db,
                host,
                MeetingCreate(
                    title=DEMO_TITLE,
                    description="A demo meeting: open all day, every day, no passcode.",
                    format="open-share",
                    weekdays=list(range(7)),
                    start_time="00:00",
                    duration_min=24 * 60,
                    timezone="UTC",
                    lobby=False,
                    listed=True,
                    readings=[PREAMBLE],
                ),
                now,
                default_capacity,
            )
            await db.commit()
            return Demo(meeting_id=meeting.id, password=password)
        return await _find(db)


async def _find(db: AsyncSession) -> Demo | None:
    meeting_id = (
        (
            await db.execute(
                select(Meeting.id)
                .join(Facilitator, Facilitator.id == Meeting.owner_id)
                .where(Facilitator.username == DEMO_USERNAME, Meeting.title == DEMO_TITLE)
                .order_by(Meeting.created_at)
            )
        )
        .scalars()
        .first()
    )
    return None if meeting_id is None else Demo(meeting_id=meeting_id, password=None)


def announcement(demo: Demo, base_url: str) -> str:
    """The lines printed once to the operator's terminal."""
    base = base_url.rstrip("/")
    lines = ["", "Haven demo"]
    if demo.password is not None:
        lines += [
            f"  facilitator console: {base}/console",
            f"  username: {DEMO_USERNAME}",
            f"  password: {demo.password}   (shown once: note it now)",
        ]
    else:
        lines.append(f"  facilitator console: {base}/console (user {DEMO_USERNAME})")
    lines += [f"  demo meeting:        {meetings.meeting_url(base, demo.meeting_id)}", ""]
    return "\n".join(lines)
