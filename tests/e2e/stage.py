"""A staged Haven for screenshots and Lighthouse: a real server with meetings and people.

``staged()`` serves a fresh app (SQLite under a temporary directory) with a facilitator
account ``host`` (password ``tests.support.rooms.PASSWORD``) and a few listed meetings, the
first of them ("Morning open share") for the demo room. ``fill_room(meeting)`` starts that
meeting from a WebSocket client and has members talk, so a browser that joins finds a live
room. Nothing here is a test; tests/e2e/screenshots.py and lighthouse_run.py use it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.config import Settings
from tests.support.rooms import Meeting, Member, create_meeting
from tests.support.server import LiveServer, serve

PREAMBLE = (
    "Welcome. We meet to share our experience, strength and hope with each other. "
    "Use a first name or a pseudonym only. Who you see here, what you hear here, "
    "stays here."
)


@dataclass
class Stage:
    server: LiveServer
    http: httpx.AsyncClient
    room: Meeting
    meetings: list[Meeting] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)


@contextlib.asynccontextmanager
async def staged(host: str = "127.0.0.1") -> AsyncIterator[Stage]:
    with tempfile.TemporaryDirectory(prefix="haven-stage-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", join_rate_per_ip="1000/minute")
        async with (
            serve(settings, host=host) as server,
            httpx.AsyncClient(base_url=server.url) as http,
        ):
            room = await create_meeting(
                server,
                http,
                title="Morning open share",
                description="An open share for anyone in recovery, every morning.",
                format="open-share",
                weekdays=list(range(7)),
                start_time="00:00",
                duration_min=1440,
                lobby=True,
                share_limit_s=180,
                readings=[{"title": "Preamble", "text": PREAMBLE}],
            )
            others = [
                await create_meeting(
                    server,
                    http,
                    title="SMART Recovery check-in",
                    format="smart-recovery",
                    weekdays=[0, 2, 4],
                    start_time="18:30",
                    timezone="America/Chicago",
                    duration_min=90,
                ),
                await create_meeting(
                    server,
                    http,
                    title="Familias y amigos",
                    format="family-and-friends",
                    language="es",
                    weekdays=[1, 3],
                    start_time="20:00",
                    timezone="Europe/Madrid",
                    passcode="serenidad",
                ),
                await create_meeting(
                    server,
                    http,
                    title="12-step step study",
                    format="12-step",
                    weekdays=[5],
                    start_time="10:00",
                    timezone="Europe/London",
                    lobby=True,
                ),
            ]
            yield Stage(server=server, http=http, room=room, meetings=[room, *others])


async def fill_room(stage: Stage, *, host: bool = True) -> None:
    """Members Ann and Ben in the demo room, talking; with ``host`` a script starts it."""
    room = stage.room
    if host:
        facilitator = await room.host()
        await facilitator.send({"t": "start"})
        await facilitator.event("phase", p="live")
        await facilitator.send({"t": "pin", "i": 0})
        stage.members.append(facilitator)
    for name in ("Ann", "Ben"):
        member = await room.join(name)
        stage.members.append(member)
        if host:
            await facilitator.send({"t": "admit", "m": member.me})
            await member.event("admit", m=member.me)


async def talk(stage: Stage) -> None:
    """A few lines of an ordinary morning share, and a raised hand."""
    ann, ben = stage.members[-2], stage.members[-1]
    await ann.say("Good morning everyone. Day 41 for me.")
    await ann.event("msg", x="Good morning everyone. Day 41 for me.")
    await ben.say("Morning Ann, congratulations! Glad to be here today.")
    await ben.event("msg", x="Morning Ann, congratulations! Glad to be here today.")
    await ben.send({"t": "hand", "up": True})
    await ben.event("hand", m=ben.me, up=True)


async def greeter(stage: Stage) -> None:
    """Run forever: the host admits whoever waits, and Ann welcomes them into the room."""
    host, ann = stage.members[0], stage.members[1]
    while True:
        frame = await host.recv(timeout=3600)
        if frame.get("t") == "join" and frame.get("lob"):
            await host.send({"t": "admit", "m": frame["m"]})
        elif frame.get("t") == "admit" and frame["m"] not in {m.me for m in stage.members}:
            await ann.say("Welcome! Make yourself at home; you can just listen.")
