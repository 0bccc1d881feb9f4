"""HTTP side of the rooms: join tickets, the protocol schema, and the WebSocket route."""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from datetime import UTC, datetime
from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from limits import parse
from pydantic import BaseModel, ConfigDict, Field

from app.api.validation import InputModel
from app.auth.dependencies import OptionalFacilitator, SessionDep
from app.auth.passwords import verify_password
from app.auth.tickets import device_hash
from app.meetings.models import Meeting
from app.meetings.runtime import RecentViews
from app.meetings.service import meeting_access
from app.moderation.impersonation import pseudonym_problem
from app.moderation.names import name_content_problem
from app.rooms import protocol
from app.rooms.attendance import NAME_CHARS, compact_code, printable_name
from app.rooms.endpoint import room_socket
from app.rooms.service import NAME_REFUSALS, Rooms
from app.rooms.types import MeetingId, Role

router = APIRouter(tags=["rooms"])

PASSCODE_TRIES = parse("10/10minute")


class TicketRequest(InputModel):
    # InputModel: a passcode or device token UTF-8 cannot encode is a 422 before argon2 or
    # hashlib sees it (app/api/validation.py).
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    passcode: Annotated[str, Field(max_length=128)] | None = None
    device: Annotated[str, Field(min_length=8, max_length=128)] | None = None


class TicketResponse(BaseModel):
    ticket: str
    ws: str
    expires_in: int


def clean_name(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _problem(
    status_code: int, code: str, message: str, retry_after_s: float | None = None
) -> HTTPException:
    """An error in the API's shape (docs/api.md): a stable ``code`` and a readable message;
    a refusal by a rate limit says when to try again (``Retry-After``, whole seconds)."""
    headers = None if retry_after_s is None else {"Retry-After": str(max(1, ceil(retry_after_s)))}
    return HTTPException(status_code, {"code": code, "message": message}, headers)


@router.post(
    "/api/meetings/{meeting_id}/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketResponse,
    responses={400: {}, 403: {}, 404: {}, 409: {}, 422: {}, 429: {}},
)
async def create_ticket(
    meeting_id: Annotated[str, Field(min_length=1, max_length=32)],
    body: TicketRequest,
    request: Request,
    db: SessionDep,
    facilitator: OptionalFacilitator,
) -> TicketResponse:
    """A single-use join ticket for the WebSocket's first frame (valid ``expires_in`` s)."""
    rooms: Rooms = request.app.state.rooms
    settings = request.app.state.settings
    address = rooms.address_key(request.client.host if request.client else None)
    join_rate = parse(settings.join_rate_per_ip)
    if not await rooms.allow(join_rate, "join", address):
        wait = await rooms.retry_after(join_rate, "join", address)
        raise _problem(429, "throttled", "Too many joins from this address; wait a minute.", wait)
    if facilitator is None:
        views: RecentViews = request.app.state.meeting_views
        meeting = await views.get(meeting_id, lambda: meeting_access(db, meeting_id, None))
    else:
        meeting = await meeting_access(db, meeting_id, facilitator.id)
    if meeting is None:
        raise _problem(404, "meeting_not_found", "No such meeting.")
    role: Role = "member"
    if meeting.is_owner:
        role = "host"
    elif meeting.is_facilitator:
        role = "cofac"
    if role == "member":
        if meeting.passcode_hash is not None:
            if not await rooms.allow(PASSCODE_TRIES, "passcode", meeting.id, address):
                wait = await rooms.retry_after(PASSCODE_TRIES, "passcode", meeting.id, address)
                raise _problem(
                    429, "throttled", "Too many passcode attempts; wait a few minutes.", wait
                )
            ok = await asyncio.to_thread(
                lambda: verify_password(meeting.passcode_hash, body.passcode or "").ok
            )
            if not ok:
                raise _problem(403, "wrong_passcode", "Wrong passcode.")
        if body.name is None:
            raise _problem(422, "name_required", "Choose a name to use in this meeting.")
        name = clean_name(body.name)
        # Its form, then what it says, by the chat's stages (none with moderation off).
        problem = pseudonym_problem(name, meeting.facilitator_names) or name_content_problem(
            name, rooms.pipeline
        )
        if problem is not None:
            raise _problem(422, "name_refused", problem)
    else:
        assert facilitator is not None
        name = facilitator.display_name
    room = rooms.hub.get(MeetingId(meeting.id))
    if room is not None:
        dev = device_hash(meeting.id, body.device)
        if (dev is not None and dev in room.state.banned_devices) or (
            role != "member"
            and facilitator is not None
            and facilitator.id in room.state.banned_accounts
        ):
            raise _problem(403, "removed", "You cannot rejoin this meeting.")
        if room.state.phase == "ended":
            raise _problem(404, "meeting_not_found", "No such meeting.")
        # A look-alike of a name in use impersonates its holder as surely as the same name.
        if role == "member":
            if not await rooms.within(NAME_REFUSALS, "name", meeting.id, address):
                wait = await rooms.retry_after(NAME_REFUSALS, "name", meeting.id, address)
                raise _problem(429, "throttled", "Too many names tried; wait a few minutes.", wait)
            if rooms.name_in_use(room, name, dev):
                await rooms.allow(NAME_REFUSALS, "name", meeting.id, address)
                raise _problem(
                    409, "name_in_use", "Someone here already uses that name; choose another."
                )
    token, _ = rooms.signer.issue(
        meeting.id,
        name,
        role,
        account=facilitator.id if facilitator and role != "member" else None,
        device=body.device,
        grant=(
            rooms.signer.grant(facilitator.id, facilitator.password_hash)
            if facilitator and role != "member"
            else None
        ),
    )
    return TicketResponse(ticket=token, ws="/ws", expires_in=rooms.signer.ttl_s)


SLIP_CHECKS = parse("30/minute")
SLIP_CODE_CHECKS = parse("10/day")
"""Failed checks of one code, whatever the name and from wherever: someone holding a code (a
photo of a slip with the name covered) cannot try a list of names against it. Only failures
count, so nobody can use them up to lock out the person with the right name."""


class SlipCheck(InputModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=NAME_CHARS)]


class CheckedSlip(BaseModel):
    title: str | None
    """The meeting's title as it is now, or null if it has been deleted since. (Never its id:
    that is the way into an unlisted meeting.)"""
    name: str
    entered: datetime
    until: datetime
    minutes: int


@router.post(
    "/api/attendance/verify",
    response_model=CheckedSlip,
    responses={400: {}, 404: {}, 422: {}, 429: {}},
    tags=["attendance"],
)
async def verify_slip(body: SlipCheck, request: Request, db: SessionDep) -> CheckedSlip:
    """Check a proof of attendance: its code and the name printed on it (docs/api.md).
    Nothing of the request is kept; 404 ``slip_not_valid`` when they do not match."""
    rooms: Rooms = request.app.state.rooms
    address = rooms.address_key(request.client.host if request.client else None)
    if not await rooms.allow(SLIP_CHECKS, "slip", address):
        wait = await rooms.retry_after(SLIP_CHECKS, "slip", address)
        raise _problem(429, "throttled", "Too many checks from this address; wait a minute.", wait)
    code_key = hashlib.sha256(compact_code(body.code).encode()).hexdigest()[:32]
    if not await rooms.within(SLIP_CODE_CHECKS, "slip-code", code_key):
        wait = await rooms.retry_after(SLIP_CODE_CHECKS, "slip-code", code_key)
        raise _problem(429, "throttled", "This code failed too many checks today.", wait)
    name = printable_name(body.name)
    slip = rooms.slips.verify(body.code, name) if rooms.slips and name else None
    if slip is None or name is None:
        await rooms.allow(SLIP_CODE_CHECKS, "slip-code", code_key)
        raise _problem(
            404, "slip_not_valid", "This code and name do not match a slip from this server."
        )
    meeting = await db.get(Meeting, slip.meeting)
    return CheckedSlip(
        title=None if meeting is None else meeting.title,
        name=name,
        entered=datetime.fromtimestamp(slip.entered_ms / 1000, UTC),
        until=datetime.fromtimestamp(slip.until_ms / 1000, UTC),
        minutes=slip.minutes,
    )


@router.get("/api/protocol.json")
async def protocol_schema() -> JSONResponse:
    """The JSON Schema of every client frame and server frame (docs/protocol.md)."""
    return JSONResponse(_SCHEMA)


_SCHEMA: dict[str, Any] = protocol.json_schema()

# Served by app.rooms.asgi.HavenApp in front of the middleware; declared here too so
# that the route table (and a server without that wrapper) knows it.
router.add_api_websocket_route("/ws", room_socket)
