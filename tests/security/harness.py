"""One Haven server for the whole abuse suite, and the clients that attack it.

The server (real uvicorn, production options, ``ThreadedHaven``) runs in a thread with its own
event loop while the package's tests run, so the async abuse tests, the synchronous hypothesis
fuzzer and schemathesis all hit the same process, and starting it (migrations, argon2 hashes of
the test accounts) is paid once. Every limit Haven keeps is per client address, so each test
attacks from addresses of its own: Linux routes all of 127.0.0.0/8 to loopback, and
``Addresses`` hands out a fresh one per call. What one test's attacker used up (join rate,
connection cap, passcode and login throttles) never leaks into another test.

``Scene`` is the common cast of an abuse test: a started meeting with its host and a
bystander, plus ``meeting_goes_on()``, the assertion every test ends with: the bystander still
sends and receives, and the server still answers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import secrets
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import websockets

from app.auth import service as auth_service
from app.auth import sessions
from app.auth.models import Facilitator
from app.auth.passwords import hash_password
from app.auth.throttle import LoginThrottle
from app.config import Settings
from app.main import create_app
from app.meetings import service as meetings_service
from app.meetings.schemas import MeetingCreate
from tests.support.rooms import UNIT_S, Meeting, Member, SchemaValidator
from tests.support.server import LiveServer, serve

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
LISTED_ORIGIN = "https://haven.example.org"
LOGIN_PER_ACCOUNT = 3
LOGIN_PER_ADDRESS = 5
ACCOUNTS = {
    # username: display name. "host" runs the meetings of most tests, "cohost" co-facilitates
    # them; "rival" runs meetings of their own (a hostile facilitator of another meeting).
    "host": "Robin",
    "cohost": "Casey",
    "rival": "Morgan",
    "target": "Jordan",  # the account whose password the brute-force tests guess
}


def security_settings(data_dir: Any) -> Settings:
    """Production defaults, except the few knobs an abuse test must reach quickly."""
    return Settings(
        data_dir=data_dir,
        handshake_timeout_s=1.0,  # idle sockets and slowloris clients are cut after 1 s
        max_conns_per_ip=6,
        allowed_origins=[LISTED_ORIGIN],
    )


class Addresses:
    """Fresh loopback source addresses: 127.x.y.z, never 127.0.0.1 (the server's)."""

    def __init__(self, first_octet: int) -> None:
        self._next = itertools.count(1)
        self._octet = first_octet

    def new(self) -> str:
        n = next(self._next)
        return f"127.{self._octet}.{n // 250 % 250 + 1}.{n % 250 + 1}"


class ThreadedHaven:
    """``serve(settings)`` in a thread of its own, with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.live: LiveServer | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="haven-security", daemon=True)

    def start(self, timeout: float = 60) -> LiveServer:
        self._thread.start()
        if not self._ready.wait(timeout) or self.live is None:
            raise RuntimeError(f"the server did not start: {self.error!r}")
        return self.live

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported by alive() and stop()
            self.error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = create_app(self.settings)
        # Small login limits, as in the account tests: each failed attempt costs an argon2
        # verification (0.1-0.3 s of CPU here), and the fuzzers try many.
        app.state.login_throttle = LoginThrottle(
            f"{LOGIN_PER_ACCOUNT}/15 minutes", f"{LOGIN_PER_ADDRESS}/15 minutes"
        )
        app.state.reauth_throttle = LoginThrottle(
            f"{LOGIN_PER_ACCOUNT}/15 minutes", f"{LOGIN_PER_ADDRESS}/15 minutes"
        )
        async with serve(self.settings, app=app) as live:
            self.live = live
            self._ready.set()
            await self._stop.wait()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the server's loop (database work, reading room state)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self.submit(coro))

    def alive(self) -> bool:
        return self._thread.is_alive() and self.error is None and self.live is not None

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if self.error is not None:
            raise RuntimeError("the server crashed during the security suite") from self.error

    # -- state set up straight in the database (on the server's loop) --------------------------

    def create_accounts(self) -> None:
        async def create() -> None:
            assert self.live is not None
            digest = hash_password(PASSWORD)
            async with self.live.app.state.sessionmaker() as db:
                for username, display in ACCOUNTS.items():
                    db.add(
                        Facilitator(
                            username=username,
                            display_name=display,
                            password_hash=digest,
                            is_admin=username == "host",
                            disabled=False,
                            created_at=datetime.now(UTC),
                        )
                    )
                await db.commit()

        self.submit(create()).result(60)

    async def session_token(self, username: str) -> str:
        async def issue() -> str:
            assert self.live is not None
            async with self.live.app.state.sessionmaker() as db:
                account = await _account(db, username)
                issued = await sessions.issue(db, account.id, datetime.now(UTC), 3600)
                await db.commit()
                return issued.token

        return await self.call(issue())

    async def create_meeting(self, owner: str = "host", **fields: Any) -> str:
        async def create() -> str:
            assert self.live is not None
            fields.setdefault("title", "Abuse-case meeting")
            # Newcomer cooldown would hold every first message of a fresh member.
            fields.setdefault("policy", {"newcomer_cooldown": 0})
            async with self.live.app.state.sessionmaker() as db:
                account = await _account(db, owner)
                meeting = await meetings_service.create_meeting(
                    db, account, MeetingCreate(**fields), datetime.now(UTC), 100
                )
                await db.commit()
                return meeting.id

        return await self.call(create())

    def room_state(self, meeting_id: str) -> Any:
        """The room replica's current state (an immutable snapshot: safe to read here)."""
        assert self.live is not None
        room = self.live.app.state.rooms.hub.get(meeting_id)
        return None if room is None else room.state


async def _account(db: Any, username: str) -> Facilitator:
    account = await auth_service.find_by_username(db, username)
    assert account is not None, username
    return account


class BoundMeeting(Meeting):
    """``tests.support.rooms.Meeting`` whose clients all come from one source address."""

    def __init__(self, haven: ThreadedHaven, meeting_id: str, token: str, address: str) -> None:
        assert haven.live is not None
        transport = httpx.AsyncHTTPTransport(local_address=address)
        http = httpx.AsyncClient(base_url=haven.live.url, transport=transport)
        super().__init__(haven.live, meeting_id, token, http)
        self.haven = haven
        self.address = address
        self.members: list[Member] = []
        self.raw: list[asyncio.StreamWriter] = []

    async def connect(self, **kwargs: Any) -> Member:
        kwargs.setdefault("local_addr", (self.address, 0))
        # Read everything, as a browser does: websockets' default flow control (16 frames)
        # would stop reading a client that a test reads later, and a server that gives up on
        # a peer who stopped reading would then drop it without a close frame.
        kwargs.setdefault("max_queue", None)
        member = await super().connect(**kwargs)
        self.members.append(member)
        return member

    async def open_raw(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A plain TCP connection to the server from this address (closed with the scene)."""
        assert self.haven.live is not None
        live = self.haven.live
        reader, writer = await asyncio.open_connection(
            live.host, live.port, local_addr=(self.address, 0)
        )
        self.raw.append(writer)
        return reader, writer

    def seen_from(self, address: str, token: str | None = None) -> BoundMeeting:
        """The same meeting, reached from another address (with another session, or none)."""
        other = BoundMeeting(self.haven, self.id, token or self.token, address)
        other.validator = self.validator
        return other

    async def aclose(self) -> None:
        """Close every client this view opened: a test never leaves a socket behind."""
        for member in self.members:
            # Abort, not close: a client that left frames unread (websockets pauses reading
            # past ``max_queue``) would wait ``close_timeout`` for the server's close frame.
            member.ws.transport.abort()
        for writer in self.raw:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await self.http.aclose()


@dataclass
class Scene:
    """A live meeting with its host and a bystander: the cast of every abuse test."""

    haven: ThreadedHaven
    addresses: Addresses
    meeting: BoundMeeting
    host: Member
    bystander: Member
    opened: list[BoundMeeting] = field(default_factory=list)

    @property
    def server(self) -> LiveServer:
        assert self.haven.live is not None
        return self.haven.live

    def from_new_address(
        self, token: str | None = None, meeting: BoundMeeting | None = None
    ) -> BoundMeeting:
        """This meeting (or ``meeting``) as reached from a fresh address, closed with the scene."""
        view = (meeting or self.meeting).seen_from(self.addresses.new(), token)
        self.opened.append(view)
        return view

    async def other_meeting(self, owner: str = "host", **fields: Any) -> BoundMeeting:
        meeting_id = await self.haven.create_meeting(owner, **fields)
        token = await self.haven.session_token(owner)
        view = BoundMeeting(self.haven, meeting_id, token, self.addresses.new())
        view.validator = self.meeting.validator
        self.opened.append(view)
        return view

    def state(self, meeting: Meeting | None = None) -> Any:
        return self.haven.room_state((meeting or self.meeting).id)

    async def meeting_goes_on(self, label: str = "still here") -> None:
        """The bystander sends and receives, the host receives, and the server answers."""
        await goes_on(self.haven, self.meeting, self.host, self.bystander, label)

    async def close(self) -> None:
        for view in [*self.opened, self.meeting]:
            await view.aclose()


async def goes_on(
    haven: ThreadedHaven, meeting: Meeting, host: Member, bystander: Member, label: str = "hi"
) -> None:
    """A meeting goes on: its bystander sends and receives, its host receives, the server
    answers a ping and ``/healthz``, and its thread is alive."""
    assert haven.alive(), "the server thread died"
    cid = await bystander.say(f"{label} {secrets.token_hex(2)}")
    mine = await bystander.event("msg", cid=cid, timeout=5 * UNIT_S)
    assert mine["m"] == bystander.me
    await host.event("msg", cid=cid, timeout=5 * UNIT_S)
    await bystander.send({"t": "ping"})
    await bystander.event("pong")
    assert (await meeting.http.get("/healthz")).status_code == 200
    assert haven.alive(), "the server thread died"


async def started(meeting: Meeting) -> tuple[Member, Member]:
    """Host the meeting, start it, and seat a bystander."""
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    bystander = await meeting.join("Bystander")
    if bystander.welcome["room"].get("members") is None:  # a lobby: let them in
        await host.send({"t": "admit", "m": bystander.me})
        await bystander.event("admit", m=bystander.me)
    return host, bystander


async def started_scene(haven: ThreadedHaven, addresses: Addresses, **meeting_fields: Any) -> Scene:
    meeting_id = await haven.create_meeting("host", **meeting_fields)
    token = await haven.session_token("host")
    meeting = BoundMeeting(haven, meeting_id, token, addresses.new())
    schema = (await meeting.http.get("/api/protocol.json")).json()
    meeting.validator = SchemaValidator(schema)
    host, bystander = await started(meeting)
    return Scene(haven, addresses, meeting, host, bystander)


# -- raw clients: what a browser or a websockets client would never send ----------------------


def upgrade_request(host: str, port: int, path: str = "/ws", **headers: str) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, masked as RFC 6455 requires), built by hand."""
    mask = secrets.token_bytes(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_close_code(reader: asyncio.StreamReader, timeout: float) -> int | None:
    """Read server frames until a close frame; its code, or None if the socket just ended."""

    async def read() -> int | None:
        while True:
            head = await reader.readexactly(2)
            length = head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(length)
            if head[0] & 0x0F == 0x8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None

    try:
        return await asyncio.wait_for(read(), timeout)
    except asyncio.IncompleteReadError:
        return None


async def http_head(reader: asyncio.StreamReader, timeout: float) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)


async def expect_refused(connect: Callable[..., Awaitable[Any]], **kwargs: Any) -> int:
    """The HTTP status with which a WebSocket upgrade was refused."""
    try:
        ws = await connect(**kwargs)
    except websockets.InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    raise AssertionError("the upgrade was accepted")
