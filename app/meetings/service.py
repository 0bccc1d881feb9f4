"""Meetings: definitions, who runs them, when they happen, and what the room core needs.

Contract: every function takes an open ``AsyncSession`` and times as data (timezone-aware UTC),
raises an ``app.meetings.exceptions.MeetingError`` for an expected refusal, and flushes but
never commits; the caller commits. Passcodes are hashed with argon2id in a worker thread and
never leave the server (``has_passcode`` instead).

Permissions: any facilitator may create a meeting (and owns it). Editing and deleting it is
for its owner or an administrator; running it (room controls, the audit) also for its
co-facilitators. A facilitator of another meeting has no rights here.

"Live" means an occurrence is running (started in the room and not ended: the room core calls
``start_occurrence``/``end_occurrence``), or the schedule says one is in progress now.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.auth.models import Facilitator
from app.auth.passwords import hash_password
from app.meetings import recurrence
from app.meetings.exceptions import (
    InvalidMeeting,
    MeetingForbidden,
    MeetingNotFound,
    UnknownFacilitators,
)
from app.meetings.models import Meeting, MeetingFacilitator, Occurrence, new_meeting_id
from app.meetings.runtime import MeetingRuntime, RuntimeFacilitator, RuntimeReading
from app.meetings.schemas import (
    DirectoryEntry,
    MeetingAdmin,
    MeetingCreate,
    MeetingPublic,
    MeetingSpec,
    MeetingUpdate,
    Reading,
)
from app.meetings.schemas import (
    Occurrence as OccurrenceOut,
)

# An occurrence left open longer than this (a crash, a worker killed mid-meeting) no longer
# makes its meeting "live"; the retention purge removes it later.
STALE_OCCURRENCE = timedelta(hours=12)
_ID_ATTEMPTS = 5


# --- reading ---------------------------------------------------------------------------------


async def get_meeting(db: AsyncSession, meeting_id: str) -> Meeting:
    meeting = await db.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingNotFound()
    return meeting


async def co_facilitators(db: AsyncSession, meeting_id: str) -> list[Facilitator]:
    rows = await db.execute(
        select(Facilitator)
        .join(MeetingFacilitator, MeetingFacilitator.facilitator_id == Facilitator.id)
        .where(MeetingFacilitator.meeting_id == meeting_id)
        .order_by(Facilitator.display_name, Facilitator.username)
    )
    return list(rows.scalars())


async def owner_of(db: AsyncSession, meeting: Meeting) -> Facilitator:
    owner = await db.get(Facilitator, meeting.owner_id)
    if owner is None:  # the foreign key makes this impossible
        raise MeetingNotFound()
    return owner


@dataclass(frozen=True)
class Team:
    owner: Facilitator
    cofacs: list[Facilitator]

    def role_of(self, facilitator_id: str | None) -> str | None:
        if facilitator_id is None:
            return None
        if facilitator_id == self.owner.id:
            return "owner"
        if any(f.id == facilitator_id for f in self.cofacs):
            return "cofac"
        return None

    @property
    def display_names(self) -> list[str]:
        return [self.owner.display_name, *(f.display_name for f in self.cofacs)]


async def team_of(db: AsyncSession, meeting: Meeting) -> Team:
    return Team(owner=await owner_of(db, meeting), cofacs=await co_facilitators(db, meeting.id))


def can_edit(meeting: Meeting, facilitator: Facilitator) -> bool:
    return facilitator.is_admin or meeting.owner_id == facilitator.id


def can_run(team: Team, facilitator: Facilitator) -> bool:
    """Owner, co-facilitator or administrator: may control the room and read the audit."""
    return facilitator.is_admin or team.role_of(facilitator.id) is not None


# --- schedule --------------------------------------------------------------------------------


async def running_starts(
    db: AsyncSession, now: datetime, meeting_ids: Sequence[str] | None = None
) -> dict[str, datetime]:
    """Start of the open (started, not ended, not stale) occurrence of each running meeting."""
    query = select(Occurrence.meeting_id, Occurrence.started_at).where(
        Occurrence.ended_at.is_(None),
        Occurrence.started_at > now - STALE_OCCURRENCE,
        Occurrence.started_at <= now,
    )
    if meeting_ids is not None:
        query = query.where(Occurrence.meeting_id.in_(meeting_ids))
    starts: dict[str, datetime] = {}
    for meeting_id, started_at in (await db.execute(query)).all():
        starts[meeting_id] = max(started_at, starts.get(meeting_id, started_at))
    return starts


def next_occurrence(
    meeting: Meeting, now: datetime, running_since: datetime | None, tz: ZoneInfo | None
) -> OccurrenceOut | None:
    """The occurrence running now (in the room or by the schedule), else the next scheduled."""
    length = timedelta(minutes=meeting.duration_min)
    days = recurrence.parse_weekdays(meeting.weekdays)
    start_time = recurrence.parse_start_time(meeting.start_time)
    live = True
    if running_since is not None:
        start = running_since
    elif (
        current := recurrence.current_start(
            days, start_time, meeting.duration_min, meeting.timezone, now
        )
    ) is not None:
        start = current
    else:
        upcoming = recurrence.next_occurrences(
            days, start_time, meeting.duration_min, meeting.timezone, now, 1
        )
        if not upcoming:
            return None
        start, live = upcoming[0], False
    # A meeting running past its scheduled length ends when a facilitator ends it: not before now.
    end = max(start + length, now) if live else start + length
    return OccurrenceOut(
        start_utc=start,
        end_utc=end,
        start_local=start.astimezone(tz) if tz is not None else None,
        live=live,
    )


# --- output shapes ---------------------------------------------------------------------------


def _readings(meeting: Meeting) -> list[Reading]:
    return [Reading.model_validate(item) for item in meeting.readings]


def public_view(
    meeting: Meeting, team: Team, now: datetime, running_since: datetime | None
) -> MeetingPublic:
    return MeetingPublic(
        id=meeting.id,
        title=meeting.title,
        description=meeting.description,
        format=meeting.format,
        language=meeting.language,
        timezone=meeting.timezone,
        weekdays=sorted(recurrence.parse_weekdays(meeting.weekdays)),
        start_time=meeting.start_time,
        duration_min=meeting.duration_min,
        next=next_occurrence(meeting, now, running_since, ZoneInfo(meeting.timezone)),
        capacity=meeting.capacity,
        has_passcode=meeting.passcode_hash is not None,
        lobby=meeting.lobby,
        chat_mode=meeting.chat_mode,
        members_visible=meeting.members_visible,
        share_limit_s=meeting.share_limit_s,
        readings=_readings(meeting),
        facilitators=team.display_names,
    )


def meeting_url(base_url: str, meeting_id: str) -> str:
    return f"{base_url.rstrip('/')}/m/{meeting_id}"


def admin_view(
    meeting: Meeting,
    team: Team,
    viewer: Facilitator,
    now: datetime,
    running_since: datetime | None,
    base_url: str,
) -> MeetingAdmin:
    return MeetingAdmin(
        **public_view(meeting, team, now, running_since).model_dump(),
        listed=meeting.listed,
        owner=team.owner.username,
        co_facilitators=[f.username for f in team.cofacs],
        policy=meeting.policy,
        is_owner=meeting.owner_id == viewer.id,
        url=meeting_url(base_url, meeting.id),
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
    )


# --- writing ---------------------------------------------------------------------------------


def spec_of(meeting: Meeting, cofac_usernames: list[str]) -> MeetingSpec:
    return MeetingSpec.model_validate(
        {
            "title": meeting.title,
            "description": meeting.description,
            "format": meeting.format,
            "language": meeting.language,
            "weekdays": sorted(recurrence.parse_weekdays(meeting.weekdays)),
            "start_time": meeting.start_time,
            "duration_min": meeting.duration_min,
            "timezone": meeting.timezone,
            "capacity": meeting.capacity,
            "lobby": meeting.lobby,
            "chat_mode": meeting.chat_mode,
            "members_visible": meeting.members_visible,
            "share_limit_s": meeting.share_limit_s,
            "readings": meeting.readings,
            "listed": meeting.listed,
            "co_facilitators": cofac_usernames,
            "policy": meeting.policy,
        }
    )


def _apply_spec(meeting: Meeting, spec: MeetingSpec) -> None:
    meeting.title = spec.title
    meeting.description = spec.description
    meeting.format = spec.format
    meeting.language = spec.language
    meeting.weekdays = recurrence.format_weekdays(spec.weekdays)
    meeting.start_time = spec.start_time
    meeting.duration_min = spec.duration_min
    meeting.timezone = spec.timezone
    meeting.capacity = spec.capacity
    meeting.lobby = spec.lobby
    meeting.chat_mode = spec.chat_mode
    meeting.members_visible = spec.members_visible
    meeting.share_limit_s = spec.share_limit_s
    meeting.readings = [reading.model_dump() for reading in spec.readings]
    meeting.listed = spec.listed
    meeting.policy = dict(spec.policy)


async def _set_cofacilitators(db: AsyncSession, meeting: Meeting, usernames: list[str]) -> None:
    wanted = set(usernames)
    # A disabled account is no one to run a meeting with: named as unknown.
    query = select(Facilitator).where(
        Facilitator.username.in_(wanted), Facilitator.disabled.is_(False)
    )
    found = list((await db.execute(query)).scalars())
    missing = wanted - {f.username for f in found}
    if missing:
        raise UnknownFacilitators(sorted(missing))
    await db.execute(delete(MeetingFacilitator).where(MeetingFacilitator.meeting_id == meeting.id))
    for facilitator in found:
        if facilitator.id != meeting.owner_id:  # the owner is not their own co-facilitator
            db.add(MeetingFacilitator(meeting_id=meeting.id, facilitator_id=facilitator.id))
    await db.flush()


async def create_meeting(
    db: AsyncSession,
    owner: Facilitator,
    data: MeetingCreate,
    now: datetime,
    default_capacity: int,
) -> Meeting:
    """Create a meeting owned by ``owner``; format defaults fill the fields left out."""
    try:
        spec = MeetingSpec.from_create(data, default_capacity)
    except ValidationError as exc:
        raise InvalidMeeting(first_problem(exc)) from None
    meeting_id = await _fresh_id(db)
    meeting = Meeting(id=meeting_id, owner_id=owner.id, created_at=now, updated_at=now)
    _apply_spec(meeting, spec)
    if data.passcode is not None:
        meeting.passcode_hash = await run_in_threadpool(hash_password, data.passcode)
    db.add(meeting)
    await db.flush()
    await _set_cofacilitators(db, meeting, spec.co_facilitators)
    return meeting


async def _fresh_id(db: AsyncSession) -> str:
    # 72 random bits make a collision all but impossible; checking costs one primary-key read.
    for _ in range(_ID_ATTEMPTS):
        candidate = new_meeting_id()
        if await db.get(Meeting, candidate) is None:
            return candidate
    raise RuntimeError("could not draw an unused meeting id")  # pragma: no cover


async def update_meeting(
    db: AsyncSession,
    meeting: Meeting,
    actor: Facilitator,
    data: MeetingUpdate,
    now: datetime,
    default_capacity: int,
) -> Meeting:
    if not can_edit(meeting, actor):
        raise MeetingForbidden()
    team = await team_of(db, meeting)
    current = spec_of(meeting, [f.username for f in team.cofacs])
    try:
        spec = current.merged(data, default_capacity)
    except ValidationError as exc:
        raise InvalidMeeting(first_problem(exc)) from None
    _apply_spec(meeting, spec)
    if "passcode" in data.model_fields_set:
        meeting.passcode_hash = (
            None if data.passcode is None else await run_in_threadpool(hash_password, data.passcode)
        )
    meeting.updated_at = now
    await db.flush()
    if data.co_facilitators is not None:
        await _set_cofacilitators(db, meeting, spec.co_facilitators)
    return meeting


async def delete_meeting(db: AsyncSession, meeting: Meeting, actor: Facilitator) -> None:
    """Delete a meeting with its occurrences and audit (the foreign keys cascade)."""
    if not can_edit(meeting, actor):
        raise MeetingForbidden()
    await db.delete(meeting)
    await db.flush()


def first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


async def facilitated_by(db: AsyncSession, facilitator: Facilitator) -> list[Meeting]:
    """Meetings the facilitator owns or co-facilitates, newest first."""
    cofac_ids = select(MeetingFacilitator.meeting_id).where(
        MeetingFacilitator.facilitator_id == facilitator.id
    )
    rows = await db.execute(
        select(Meeting)
        .where((Meeting.owner_id == facilitator.id) | Meeting.id.in_(cofac_ids))
        .order_by(Meeting.created_at.desc(), Meeting.id)
    )
    return list(rows.scalars())


# --- directory -------------------------------------------------------------------------------


async def directory(
    db: AsyncSession,
    now: datetime,
    tz: ZoneInfo,
    meeting_format: str | None = None,
    language: str | None = None,
    live_only: bool = False,
) -> list[DirectoryEntry]:
    """Listed meetings with their next (or current) occurrence, soonest first; meetings with
    no schedule and not running come last. ``language`` "en" also matches "en-GB"."""
    query = (
        select(Meeting, Facilitator.display_name)
        .join(Facilitator, Facilitator.id == Meeting.owner_id)
        .where(Meeting.listed.is_(True))
    )
    if meeting_format is not None:
        query = query.where(Meeting.format == meeting_format)
    if language is not None:
        # BCP-47 tags are case-insensitive; "en" also matches "en-GB".
        tag = language.lower()
        stored = func.lower(Meeting.language)
        query = query.where((stored == tag) | stored.startswith(tag + "-"))
    rows = (await db.execute(query)).all()
    running = await running_starts(db, now, [meeting.id for meeting, _ in rows])
    entries: list[DirectoryEntry] = []
    for meeting, host in rows:
        upcoming = next_occurrence(meeting, now, running.get(meeting.id), tz)
        if live_only and (upcoming is None or not upcoming.live):
            continue
        entries.append(
            DirectoryEntry(
                id=meeting.id,
                title=meeting.title,
                format=meeting.format,
                language=meeting.language,
                duration_min=meeting.duration_min,
                next=upcoming,
                has_passcode=meeting.passcode_hash is not None,
                lobby=meeting.lobby,
                host=host,
            )
        )
    far = datetime.max.replace(tzinfo=UTC)
    entries.sort(key=lambda e: (e.next.start_utc if e.next else far, e.title, e.id))
    return entries


# --- for the room core -----------------------------------------------------------------------


async def meeting_access(
    session: AsyncSession, meeting_id: str, facilitator_id: str | None
) -> MeetingRuntime | None:
    """Everything the room core needs to open a room or admit someone, or None for an unknown
    meeting. ``facilitator_id`` is the logged-in facilitator (None for a participant);
    ``is_facilitator`` / ``is_owner`` say whether they run this meeting (an administrator who
    is not on the team is not, here: admins edit definitions, they do not join as hosts).
    Read-only: no flush, no commit."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    team = await team_of(session, meeting)
    role = team.role_of(facilitator_id)
    return MeetingRuntime(
        id=meeting.id,
        title=meeting.title,
        format=meeting.format,
        capacity=meeting.capacity,
        lobby=meeting.lobby,
        chat_mode="facilitators" if meeting.chat_mode == "facilitators" else "open",
        members_visible=meeting.members_visible,
        share_limit_s=meeting.share_limit_s,
        readings=tuple(
            RuntimeReading(title=item["title"], text=item["text"]) for item in meeting.readings
        ),
        passcode_hash=meeting.passcode_hash,
        policy=dict(meeting.policy),
        facilitators=(
            RuntimeFacilitator(team.owner.id, team.owner.display_name, "owner"),
            *(RuntimeFacilitator(f.id, f.display_name, "cofac") for f in team.cofacs),
        ),
        is_owner=role == "owner",
        is_facilitator=role is not None,
    )
