"""A scripted meeting on a real server, full of canaries, and the evidence left behind.

``run_meeting(tmp_path)`` serves Haven on 127.0.0.42 with a file-backed SQLite database in
``tmp_path/data`` and the production log handler (JSON lines, privacy filter) capturing
everything at INFO. People connect from two distinctive loopback addresses: HTTP through
``httpx`` bound with ``local_address``, WebSockets on a socket bound before it connects. A
random canary stands in for every secret the meeting produces: pseudonyms (one with a
non-ASCII letter and a space, so URL and JSON escaping differ from plain text), device tokens,
the passcode and a wrong one, a wrong facilitator password, a message held and rejected in
review, one held and approved, one held and never reviewed, a PII warning never sent, a crisis
message, a report and its reason, a client message id, a lobby message, a private message to
the facilitators and their private answer, the name on a proof of attendance and its code
(checked over HTTP), and the join tickets, resume token and facilitator session token the
clients were handed. Facilitators mute, unmute, trust, grant the floor,
remove, ban and end.

Evidence is collected at three moments:

- ``live``: just before the facilitator ends the meeting (positive controls: the secrets are
  in memory, the subpoena finds the member);
- ``ended``: the meeting ended, every socket closed, metadata written, server still running;
- after the server stopped: the data directory, the private temp directory, the whole log.

The script asserts only what it needs to go on (each step's expected reply); the tests judge
the evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import websockets

from app.config import Settings
from app.rooms.hub import RoomChannel
from app.store.engine import create_engine
from tests.privacy.canaries import read_tree, token
from tests.privacy.subpoena import Finding, strings_in_memory, subpoena
from tests.support.rooms import Meeting, Member, create_meeting
from tests.support.server import LiveServer, serve

SERVER_ADDRESS = "127.0.0.42"
OTHER_ADDRESS = "127.0.0.43"
ADDRESSES = (SERVER_ADDRESS, OTHER_ADDRESS)
WAIT_S = 5.0


def make_secrets() -> dict[str, str]:
    """Every secret of the script, by label; each holds a fresh canary token."""
    t = token
    return {
        "pseudonym:ann": f"Zoë {t()}",
        "pseudonym:bob": t(),
        "pseudonym:cat": f"{t()} Ünal",
        "pseudonym:dan": t(),
        "pseudonym:dan-again": t(),
        "pseudonym:refused": t(),
        "passcode": f"{t()} serenity",
        "passcode:wrong": t(),
        "password:wrong": t(),
        "device:ann": t(),
        "device:dan": t(),
        "message:host": f"{t()} welcome, everyone",
        "message:rejected": f"you're a worthless junkie {t()}",
        "message:pii": f"{t()} call me at 555-123-4567",
        "message:crisis": f"{t()} I want to die tonight",
        "message:approved": f"{t()} first time here, thank you for having me",
        "message:share": f"{t()} ninety days sober today",
        "message:held-pending": f"{t()} you're a worthless junkie",
        "cid": t(),
        "lobby": f"{t()} the doors open at seven",
        "message:private": f"{t()} can I talk to someone after the meeting?",
        "message:private-reply": f"{t()} yes, stay on after we close",
        "slip:name": f"Jane {t()} Public",
        "report:reason": f"{t()} was rude to me",
    }


@dataclass
class Checkpoint:
    """What the server held at one moment."""

    memory_strings: list[tuple[str, str]]
    subpoena: list[Finding]
    room_in_hub: bool
    room_in_meta: bool
    room_in_log: bool
    holds: int
    files: dict[str, bytes]
    redis: dict[str, list[bytes]] | None = None


@dataclass
class Evidence:
    meeting_id: str
    data_dir: Path
    secrets: dict[str, str]
    """Canaries by label, tokens issued to clients included (``ticket:*``, ``resume:*``...)."""
    stored_by_design: dict[str, str]
    """Values that must be on disk (the meeting title, the facilitator's display name)."""
    member_ids: dict[str, str]
    client_frames: list[dict[str, Any]]
    live: Checkpoint
    ended: Checkpoint
    metrics: str = ""
    log: str = ""
    files_after_stop: dict[str, bytes] = field(default_factory=dict)
    data_dir_after_stop: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    subpoena_after_stop: list[Finding] = field(default_factory=list)

    @property
    def log_lines(self) -> list[str]:
        return self.log.splitlines()

    @property
    def log_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines]


# -- clients bound to a source address ---------------------------------------------------------


def http_from(server: LiveServer, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.url, transport=transport)


async def socket_from(server: LiveServer, address: str) -> websockets.ClientConnection:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    except BaseException:
        sock.close()
        raise
    return await websockets.connect(server.ws_url, sock=sock, max_size=2**20)


class Script:
    """The people of the meeting and the canaries they carry."""

    def __init__(self, server: LiveServer, meeting: Meeting, secrets: dict[str, str]) -> None:
        self.server = server
        self.meeting = meeting
        self.s = secrets
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.members: list[Member] = []

    def http(self, address: str) -> httpx.AsyncClient:
        if address not in self.clients:
            self.clients[address] = http_from(self.server, address)
        return self.clients[address]

    async def ticket_response(
        self, address: str, body: dict[str, Any], facilitator: bool = False
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.meeting.token}"} if facilitator else {}
        return await self.http(address).post(
            f"/api/meetings/{self.meeting.id}/tickets", json=body, headers=headers
        )

    async def join(
        self, label: str, address: str, *, facilitator: bool = False, **body: Any
    ) -> Member:
        response = await self.ticket_response(address, body, facilitator)
        assert response.status_code == 201, response.text
        ticket = response.json()["ticket"]
        self.s[f"ticket:{label}"] = ticket
        member = Member(await socket_from(self.server, address), self.meeting.validator)
        await member.send({"t": "hello", "v": 1, "ticket": ticket})
        member.welcome = await member.event("welcome")
        member.last_seq = member.welcome["seq"]
        self.s[f"resume:{label}"] = member.welcome["token"]
        self.members.append(member)
        return member

    async def resume(self, label: str, old: Member, address: str) -> Member:
        member = Member(await socket_from(self.server, address), self.meeting.validator)
        await member.send(
            {
                "t": "resume",
                "v": 1,
                "token": old.welcome["token"],
                "after": old.last_seq,
                "epoch": old.welcome["epoch"],
            }
        )
        member.welcome = await member.event("welcome")
        assert member.welcome["replay"] is True
        member.last_seq = old.last_seq
        self.members.append(member)
        return member

    async def aclose(self) -> None:
        for member in self.members:
            with contextlib.suppress(Exception):
                await member.close()
        for client in self.clients.values():
            await client.aclose()


# -- what the server holds ------------------------------------------------------------------


async def redis_contents(url: str) -> dict[str, list[bytes]]:
    """Every key with every value in it (by type), plus its DUMP, read with a fresh client."""
    client = aioredis.Redis.from_url(url)
    out: dict[str, list[bytes]] = {}
    try:
        async for key in client.scan_iter(count=1000):
            kind = (await client.type(key)).decode()
            values: list[Any]
            if kind == "string":
                values = [await client.get(key)]
            elif kind == "hash":
                values = [x for pair in (await client.hgetall(key)).items() for x in pair]
            elif kind == "stream":
                entries = await client.xrange(key)
                values = [x for _id, body in entries for pair in body.items() for x in pair]
            elif kind == "list":
                values = await client.lrange(key, 0, -1)
            elif kind == "set":
                values = list(await client.smembers(key))
            elif kind == "zset":
                values = await client.zrange(key, 0, -1)
            else:
                values = []
            dumped = await client.dump(key)
            out[key.decode()] = [v for v in (*values, dumped) if isinstance(v, bytes)]
    finally:
        await client.aclose()
    return out


async def checkpoint(
    server: LiveServer, meeting_id: str, pseudonym: str, log: io.StringIO
) -> Checkpoint:
    app = server.app
    rooms = app.state.rooms
    channel = rooms.hub.get(meeting_id)
    settings: Settings = app.state.settings
    redis_url = settings.room_log_url if settings.room_log_url.startswith("redis") else None
    redis = await redis_contents(redis_url) if redis_url else None
    if redis is not None:
        in_log = any(meeting_id in key for key in redis)
    else:
        in_log = meeting_id in rooms.log._rooms
    return Checkpoint(
        memory_strings=list(strings_in_memory(app.state)),
        subpoena=await subpoena(app, pseudonym, log.getvalue().splitlines()),
        room_in_hub=channel is not None,
        room_in_meta=meeting_id in rooms.meta,
        room_in_log=in_log,
        holds=len(channel.state.holds) if channel is not None else 0,
        files=read_tree(settings.data_dir),
        redis=redis,
    )


@contextlib.contextmanager
def private_tempdir(path: Path) -> Iterator[Path]:
    """Point Python's tempfile (and child processes via TMPDIR) at ``path`` for a while."""
    path.mkdir()
    old_env, old_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
    try:
        yield path
    finally:
        tempfile.tempdir = old_tempdir
        if old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_env


async def _ended(channel: RoomChannel) -> None:
    """Return once the room's follower has run its end-of-meeting hooks."""
    await asyncio.wait_for(asyncio.gather(*channel._tasks, return_exceptions=True), WAIT_S)


# -- the script ------------------------------------------------------------------------------


async def run_meeting(tmp_path: Path, room_log_url: str = "memory://") -> Evidence:
    """Run the scripted meeting (module docstring) and return what it left behind."""
    settings = Settings(data_dir=tmp_path / "data", room_log_url=room_log_url)
    s = make_secrets()
    log = io.StringIO()
    with private_tempdir(tmp_path / "tmp") as tmp:
        async with serve(settings, host=SERVER_ADDRESS, log_stream=log) as server:
            evidence = await _script(server, s, log)
        evidence.log = log.getvalue()
        # The database as a seized disk holds it, read with a fresh engine; the app object
        # (whose services have shut down) for memory.
        engine = create_engine(settings)
        try:
            evidence.subpoena_after_stop = await subpoena(
                server.app, s["pseudonym:ann"], evidence.log_lines, engine=engine
            )
        finally:
            await engine.dispose()
        evidence.files_after_stop = read_tree(settings.data_dir)
        evidence.data_dir_after_stop = sorted(evidence.files_after_stop)
        evidence.temp_files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    return evidence


async def _script(server: LiveServer, s: dict[str, str], log: io.StringIO) -> Evidence:
    title, display = token(), "Host"
    setup = http_from(server, OTHER_ADDRESS)
    meeting = await create_meeting(
        server,
        setup,
        title=title,
        passcode=s["passcode"],
        # The first message of every newcomer is held for review.
        policy={"newcomer_cooldown": 1},
    )
    await setup.aclose()
    s["session:host"] = meeting.token
    script = Script(server, meeting, s)
    mid = meeting.id
    try:
        host = await script.join("host", OTHER_ADDRESS, facilitator=True)
        await host.send({"t": "start"})
        await host.event("phase", p="live")

        # Refused at the door: a wrong facilitator password, a wrong passcode.
        login = await script.http(OTHER_ADDRESS).post(
            "/api/auth/login", json={"username": "host", "password": s["password:wrong"]}
        )
        assert login.status_code == 401, login.text
        wrong = await script.ticket_response(
            SERVER_ADDRESS, {"name": s["pseudonym:refused"], "passcode": s["passcode:wrong"]}
        )
        assert wrong.status_code == 403, wrong.text

        code = s["passcode"]
        ann = await script.join(
            "ann", SERVER_ADDRESS, name=s["pseudonym:ann"], passcode=code, device=s["device:ann"]
        )
        bob = await script.join("bob", OTHER_ADDRESS, name=s["pseudonym:bob"], passcode=code)
        cat = await script.join("cat", SERVER_ADDRESS, name=s["pseudonym:cat"], passcode=code)
        dan = await script.join(
            "dan", OTHER_ADDRESS, name=s["pseudonym:dan"], passcode=code, device=s["device:dan"]
        )

        cid = await host.say(s["message:host"])
        await bob.event("msg", cid=cid)

        # Held (harassment, and a newcomer's first message), then rejected in review.
        await ann.say(s["message:rejected"])
        held = await host.event("held", m=ann.me)
        await host.send({"t": "review", "h": held["h"], "ok": False})
        await ann.event("notice", code="rejected")
        await host.send({"t": "trust", "m": ann.me})
        await host.event("trust", m=ann.me)

        # A phone number: a private warning, and the sender thinks better of it.
        cid = await ann.say(s["message:pii"])
        await ann.event("warn", cid=cid)

        # A crisis: everyone reads it, the sender gets the card, facilitators the alert.
        cid = await ann.say(s["message:crisis"])
        crisis = await bob.event("msg", cid=cid)
        await ann.event("care")
        await host.event("alert", m=ann.me)

        # A private word with the facilitators, and their answer.
        await ann.send({"t": "dm", "cid": "private-1", "x": s["message:private"]})
        await host.event("dm", cid="private-1")
        await host.send(
            {"t": "dm", "cid": "private-2", "m": ann.me, "x": s["message:private-reply"]}
        )
        await ann.event("dm", cid="private-2")

        # A proof of attendance in a legal name, checked by a probation officer elsewhere.
        await ann.send({"t": "slip", "name": s["slip:name"]})
        slip = await ann.event("slip")
        s["slip:code"] = slip["code"]
        checked = await script.http(OTHER_ADDRESS).post(
            "/api/attendance/verify", json={"code": slip["code"], "name": s["slip:name"]}
        )
        assert checked.status_code == 200, checked.text

        # A newcomer's first message, held and approved.
        cid = await bob.say(s["message:approved"])
        held = await host.event("held", m=bob.me)
        await host.send({"t": "review", "h": held["h"], "ok": True})
        await cat.event("msg", cid=cid)
        await bob.say(s["message:share"], cid=s["cid"])
        await cat.event("msg", cid=s["cid"])

        await bob.send({"t": "report", "m": ann.me, "to": crisis["s"], "why": s["report:reason"]})
        await host.event("report", m=ann.me)
        await bob.event("notice", code="report_received")

        await bob.send({"t": "hand", "up": True})
        await host.event("hand", m=bob.me, up=True)
        await host.send({"t": "floor"})
        await cat.event("floor", m=bob.me)
        await host.send({"t": "floor_end"})
        await cat.event("floor", m=None)

        # Held and never reviewed: still pending when the meeting ends (its author stays: a
        # member's held messages leave with them).
        await bob.say(s["message:held-pending"])
        await host.event("held", m=bob.me)
        await bob.event("notice", code="held")

        await host.send({"t": "lobby_say", "x": s["lobby"]})
        await host.event("lobby_msg")
        await host.send({"t": "mute", "m": ann.me, "on": True})
        await ann.event("mute", m=ann.me, on=True)
        await host.send({"t": "mute", "m": ann.me, "on": False})
        await ann.event("mute", m=ann.me, on=False)

        await host.send({"t": "remove", "m": cat.me, "ban": False})
        assert await cat.closed() == 4010
        await host.send({"t": "remove", "m": dan.me, "ban": True})
        assert await dan.closed() == 4011
        again = await script.ticket_response(
            OTHER_ADDRESS,
            {"name": s["pseudonym:dan-again"], "passcode": code, "device": s["device:dan"]},
        )
        assert again.status_code == 403, again.text

        # A dropped phone link, resumed.
        bob.ws.transport.abort()
        await host.event("away", m=bob.me)
        bob = await script.resume("bob", bob, OTHER_ADDRESS)
        await host.event("back", m=bob.me)

        member_ids = {"host": host.me, "ann": ann.me, "bob": bob.me, "cat": cat.me, "dan": dan.me}
        live = await checkpoint(server, mid, s["pseudonym:ann"], log)

        channel = server.app.state.rooms.hub.get(mid)
        await host.send({"t": "end"})
        for member in (host, ann, bob):
            assert await member.closed() == 4004
        await _ended(channel)
        await server.app.state.rooms.sink.drain()
        ended = await checkpoint(server, mid, s["pseudonym:ann"], log)

        metrics = await script.http(OTHER_ADDRESS).get("/metrics")
        assert metrics.status_code == 200
        frames = [frame for member in script.members for frame in member.frames]
    finally:
        await script.aclose()
    return Evidence(
        meeting_id=mid,
        data_dir=server.settings.data_dir,
        secrets=s,
        stored_by_design={"meeting title": title, "facilitator display name": display},
        member_ids=member_ids,
        client_frames=frames,
        live=live,
        ended=ended,
        metrics=metrics.text,
    )
