"""HTTP endpoints of meetings: the public directory and detail, the facilitators' CRUD, and
the audit.

    GET    /api/meetings                  directory of listed meetings (public)
    POST   /api/meetings                  create (any facilitator; they own it)
    GET    /api/meetings/{id}             public detail (the link is the secret if unlisted)
    PATCH  /api/meetings/{id}             edit (owner or admin)
    DELETE /api/meetings/{id}             delete (owner or admin)
    GET    /api/meetings/{id}/audit       content-free audit (owner, co-facilitators, admin)
    GET    /api/facilitator/meetings      the caller's meetings, co-facilitated included
    GET    /api/facilitator/meetings/{id} full definition (owner, co-facilitators, admin)

Unlisted meetings never appear in the directory; a GET by id works for anyone holding the
link. An id that is not even shaped like one is a 404 too, so probing learns nothing.
"""

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from app.auth.dependencies import (
    JSON_REQUIRED,
    ClockDep,
    CurrentFacilitator,
    JsonBody,
    SessionDep,
)
from app.auth.models import Facilitator
from app.auth.router import base_url
from app.meetings import audit, service
from app.meetings.exceptions import MeetingError, MeetingForbidden, MeetingNotFound
from app.meetings.models import Meeting
from app.meetings.schemas import (
    AuditEntry,
    Directory,
    MeetingAdmin,
    MeetingCreate,
    MeetingFormat,
    MeetingPublic,
    MeetingUpdate,
    valid_timezone,
)
from app.rooms.types import MeetingId

router = APIRouter(tags=["meetings"])

_MEETING_ID = re.compile(r"^[A-Za-z0-9_-]{12}$")
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such meeting"}}
_TEAM_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in"},
    403: {"description": "not a facilitator of this meeting"},
    404: {"description": "no such meeting"},
}


def _http(error: MeetingError) -> HTTPException:
    return HTTPException(error.status, detail={"code": error.code, "message": str(error)})


async def _meeting(db: SessionDep, meeting_id: str) -> Meeting:
    if not _MEETING_ID.match(meeting_id):
        raise _http(MeetingNotFound())
    try:
        return await service.get_meeting(db, meeting_id)
    except MeetingNotFound as exc:
        raise _http(exc) from None


async def _admin_view(
    request: Request, db: SessionDep, meeting: Meeting, viewer: Facilitator, clock: ClockDep
) -> MeetingAdmin:
    now = clock()
    team = await service.team_of(db, meeting)
    running = await service.running_starts(db, now, [meeting.id])
    return service.admin_view(
        meeting, team, viewer, now, running.get(meeting.id), base_url(request)
    )


@router.get(
    "/api/meetings",
    response_model=Directory,
    tags=["directory"],
    summary="Listed meetings with their next occurrence, soonest first",
    responses={400: {"description": "unknown time zone"}},
)
async def directory(
    db: SessionDep,
    clock: ClockDep,
    format: Annotated[MeetingFormat | None, Query()] = None,
    language: Annotated[str | None, Query(max_length=35, pattern=r"^[A-Za-z0-9-]+$")] = None,
    live: Annotated[bool, Query(description="only meetings on now")] = False,
    tz: Annotated[str, Query(description="IANA zone for start_local", max_length=64)] = "UTC",
) -> Directory:
    try:
        zone = ZoneInfo(valid_timezone(tz))
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail={"code": "unknown_timezone", "message": "unknown time zone"},
        ) from None
    entries = await service.directory(db, clock(), zone, format, language, live)
    return Directory(tz=tz, meetings=entries)


@router.post(
    "/api/meetings",
    response_model=MeetingAdmin,
    status_code=status.HTTP_201_CREATED,
    dependencies=[JsonBody],
    responses={401: _TEAM_ONLY[401], 422: {"description": "invalid definition"}, **JSON_REQUIRED},
)
async def create_meeting(
    body: MeetingCreate,
    request: Request,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    clock: ClockDep,
) -> MeetingAdmin:
    default_capacity: int = request.app.state.settings.room_capacity_default
    try:
        meeting = await service.create_meeting(db, facilitator, body, clock(), default_capacity)
    except MeetingError as exc:
        await db.rollback()
        raise _http(exc) from None
    await db.commit()
    return await _admin_view(request, db, meeting, facilitator, clock)


@router.get("/api/meetings/{meeting_id}", response_model=MeetingPublic, responses=_NOT_FOUND)
async def meeting_detail(meeting_id: str, db: SessionDep, clock: ClockDep) -> MeetingPublic:
    meeting = await _meeting(db, meeting_id)
    now = clock()
    team = await service.team_of(db, meeting)
    running = await service.running_starts(db, now, [meeting.id])
    return service.public_view(meeting, team, now, running.get(meeting.id))


@router.patch(
    "/api/meetings/{meeting_id}",
    response_model=MeetingAdmin,
    dependencies=[JsonBody],
    responses={**_TEAM_ONLY, **JSON_REQUIRED},
)
async def update_meeting(
    meeting_id: str,
    body: MeetingUpdate,
    request: Request,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    clock: ClockDep,
) -> MeetingAdmin:
    meeting = await _meeting(db, meeting_id)
    default_capacity: int = request.app.state.settings.room_capacity_default
    before = {f.id for f in (await service.team_of(db, meeting)).cofacs}
    try:
        await service.update_meeting(db, meeting, facilitator, body, clock(), default_capacity)
    except MeetingError as exc:
        await db.rollback()
        raise _http(exc) from None
    await db.commit()
    request.app.state.meeting_views.forget(meeting_id)
    left = before - {f.id for f in (await service.team_of(db, meeting)).cofacs}
    if left:  # a co-facilitator taken off the team stops being one in a running meeting too
        await request.app.state.rooms.left_team(MeetingId(meeting_id), left)
    return await _admin_view(request, db, meeting, facilitator, clock)


@router.delete(
    "/api/meetings/{meeting_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_TEAM_ONLY
)
async def delete_meeting(
    meeting_id: str, request: Request, facilitator: CurrentFacilitator, db: SessionDep
) -> Response:
    meeting = await _meeting(db, meeting_id)
    try:
        await service.delete_meeting(db, meeting, facilitator)
    except MeetingError as exc:
        await db.rollback()
        raise _http(exc) from None
    await db.commit()
    request.app.state.meeting_views.forget(meeting_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/meetings/{meeting_id}/audit",
    response_model=list[AuditEntry],
    responses=_TEAM_ONLY,
    summary="Moderation actions (no text, no pseudonyms): facilitators of the meeting only",
)
async def meeting_audit(
    meeting_id: str,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    occurrence: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[AuditEntry]:
    meeting = await _meeting(db, meeting_id)
    team = await service.team_of(db, meeting)
    if not service.can_run(team, facilitator):
        raise _http(MeetingForbidden())
    return await audit.entries(db, meeting.id, occurrence)


@router.get(
    "/api/facilitator/meetings",
    response_model=list[MeetingAdmin],
    tags=["facilitator"],
    responses={401: _TEAM_ONLY[401]},
    summary="Meetings the caller owns or co-facilitates",
)
async def my_meetings(
    request: Request, facilitator: CurrentFacilitator, db: SessionDep, clock: ClockDep
) -> list[MeetingAdmin]:
    meetings = await service.facilitated_by(db, facilitator)
    now = clock()
    running = await service.running_starts(db, now, [m.id for m in meetings])
    base = base_url(request)
    views: list[MeetingAdmin] = []
    for meeting in meetings:
        team = await service.team_of(db, meeting)
        views.append(
            service.admin_view(meeting, team, facilitator, now, running.get(meeting.id), base)
        )
    return views


@router.get(
    "/api/facilitator/meetings/{meeting_id}",
    response_model=MeetingAdmin,
    tags=["facilitator"],
    responses=_TEAM_ONLY,
)
async def my_meeting(
    meeting_id: str,
    request: Request,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    clock: ClockDep,
) -> MeetingAdmin:
    meeting = await _meeting(db, meeting_id)
    team = await service.team_of(db, meeting)
    if not service.can_run(team, facilitator):
        raise _http(MeetingForbidden())
    return await _admin_view(request, db, meeting, facilitator, clock)
