"""Real room-protocol clients for integration tests: HTTP for tickets, WebSocket for the rest.

Every wait is bounded by a timeout scaled from one unit (``UNIT_S``), never a sleep: a client
reads frames until one matches what the test expects.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import websockets
from websockets.asyncio.client import ClientConnection

from app.auth import service as auth_service
from app.auth import sessions
from app.meetings import service as meetings_service
from app.meetings.schemas import MeetingCreate
from tests.support.server import LiveServer

UNIT_S = 1.0
"""Base timeout: everything on loopback should take far less."""

PASSWORD = "correct horse battery staple"

Frame = dict[str, Any]


class SchemaValidator:
    """Validates every server frame against the published /api/protocol.json."""

    def __init__(self, schema: dict[str, Any]) -> None:
        server = dict(schema["server"])
        self._validator = jsonschema.Draft202012Validator(server)
        self.checked = 0

    def check(self, frame: Frame) -> None:
        self._validator.validate(frame)
        self.checked += 1


class Member:
    """One WebSocket member of a meeting."""

    def __init__(self, ws: ClientConnection, validator: SchemaValidator | None) -> None:
        self.ws = ws
        self.validator = validator
        self.welcome: Frame = {}
        self.frames: list[Frame] = []
        self.last_seq = 0

    @property
    def me(self) -> str:
        return str(self.welcome["me"])

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 2 * UNIT_S) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: Frame = json.loads(raw)
        if self.validator is not None:
            self.validator.check(frame)
        if "s" in frame:
            assert frame["s"] > self.last_seq, (frame, self.last_seq)
            self.last_seq = frame["s"]
        self.frames.append(frame)
        return frame

    async def until(self, pred: Callable[[Frame], bool], timeout: float = 3 * UNIT_S) -> Frame:
        """Read frames until one matches ``pred``; fail after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; last frames: {self.frames[-5:]}")
            frame = await self.recv(remaining)
            if pred(frame):
                return frame

    async def event(self, t: str, timeout: float = 3 * UNIT_S, **fields: Any) -> Frame:
        return await self.until(
            lambda f: f.get("t") == t and all(f.get(k) == v for k, v in fields.items()), timeout
        )

    async def say(self, text: str, cid: str | None = None, **extra: Any) -> str:
        cid = cid or secrets.token_hex(4)
        await self.send({"t": "say", "cid": cid, "x": text, **extra})
        return cid

    async def closed(self, timeout: float = 3 * UNIT_S) -> int | None:
        """Read until the server closes; return the close code."""
        try:
            while True:
                await self.recv(timeout)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.ws.close()


class Meeting:
    """A meeting on a live server, with its facilitator's session, and ways to join it."""

    def __init__(self, server: LiveServer, meeting_id: str, token: str, http: httpx.AsyncClient):
        self.server = server
        self.id = meeting_id
        self.token = token
        self.http = http
        self.validator: SchemaValidator | None = None

    async def ticket(self, name: str | None, *, facilitator: bool = False, **body: Any) -> str:
        headers = {"authorization": f"Bearer {self.token}"} if facilitator else {}
        payload = {k: v for k, v in {"name": name, **body}.items() if v is not None}
        response = await self.http.post(
            f"/api/meetings/{self.id}/tickets", json=payload, headers=headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["ticket"])

    async def connect(self, **kwargs: Any) -> Member:
        ws = await websockets.connect(self.server.ws_url, max_size=2**20, **kwargs)
        return Member(ws, self.validator)

    async def join(
        self, name: str | None = None, *, facilitator: bool = False, **body: Any
    ) -> Member:
        ticket = await self.ticket(name, facilitator=facilitator, **body)
        member = await self.connect()
        await member.send({"t": "hello", "v": 1, "ticket": ticket})
        member.welcome = await member.until(lambda f: f.get("t") == "welcome")
        member.last_seq = member.welcome["seq"]
        return member

    async def host(self) -> Member:
        return await self.join(facilitator=True)

    async def started(self) -> Member:
        """The host, once they started the meeting (it is live)."""
        host = await self.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        return host

    async def resume(self, old: Member, **override: Any) -> Member:
        member = await self.connect()
        frame = {
            "t": "resume",
            "v": 1,
            "token": old.welcome["token"],
            "after": old.last_seq,
            "epoch": old.welcome["epoch"],
            **override,
        }
        await member.send(frame)
        member.welcome = await member.until(lambda f: f.get("t") == "welcome")
        member.last_seq = member.welcome["seq"] if not member.welcome["replay"] else old.last_seq
        return member


async def create_meeting(
    server: LiveServer, http: httpx.AsyncClient, username: str = "host", **fields: Any
) -> Meeting:
    """A facilitator account and a meeting they own, straight through the services."""
    now = datetime.now(UTC)
    async with server.app.state.sessionmaker() as db:
        facilitator = await auth_service.find_by_username(db, username)
        if facilitator is None:
            facilitator = await auth_service.create_facilitator(
                db, username, username.capitalize(), PASSWORD, now
            )
        # Newcomer cooldown would hold every first message; tests of it turn it on.
        fields.setdefault("policy", {"newcomer_cooldown": 0})
        data = MeetingCreate(title=fields.pop("title", "Test meeting"), **fields)
        meeting = await meetings_service.create_meeting(db, facilitator, data, now, 100)
        issued = await sessions.issue(db, facilitator.id, now, 3600)
        await db.commit()
        meeting_id = meeting.id
    meeting_obj = Meeting(server, meeting_id, issued.token, http)
    schema = (await http.get("/api/protocol.json")).json()
    meeting_obj.validator = SchemaValidator(schema)
    return meeting_obj


async def live_with_cole(
    server: LiveServer, http: httpx.AsyncClient
) -> tuple[Meeting, Meeting, Member]:
    """A live meeting whose team includes co-facilitator Cole: the meeting, Cole's own
    session (a meeting of his, made for the account), and the host."""
    cole_account = await create_meeting(server, http, username="cole")  # for a session
    ours = await create_meeting(server, http, co_facilitators=["cole"])
    host = await ours.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return ours, cole_account, host
