"""Facilitator accounts and a movable clock for tests of the account and meeting APIs.

``FakeClock`` is installed as ``app.state.clock`` (see ``app.auth.dependencies``): session
expiry, invites, TOTP and the directory all read the time from it, so a test travels in time
without sleeping. ``haven_server`` serves a fresh app with that clock and small login limits.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx

from app.auth.models import Facilitator
from app.auth.passwords import hash_password
from app.auth.throttle import LoginThrottle
from app.config import Settings
from app.main import create_app
from app.meetings import service as meetings
from app.meetings.schemas import MeetingCreate
from tests.support.server import LiveServer, serve

PASSWORD = "correct horse battery staple"
# Small limits keep throttling tests short; the defaults are 5 and 20 per 15 minutes.
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday


@cache
def _hash_of(password: str) -> str:
    return hash_password(password)


@dataclass
class FakeClock:
    now: datetime = START
    calls: int = field(default=0, compare=False)

    def __call__(self) -> datetime:
        self.calls += 1
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@dataclass(frozen=True)
class Haven:
    """A served app plus what tests need to drive it."""

    server: LiveServer
    clock: FakeClock

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server.url, **kwargs)

    async def add_facilitator(
        self,
        username: str,
        *,
        display_name: str | None = None,
        password: str = PASSWORD,
        admin: bool = False,
    ) -> str:
        """Create an account straight in the database; return its id.

        The argon2 hash of each password is computed once per test process: hashing is slow
        by design, and the service's own path is covered by the invite and CLI tests.
        """
        async with self.server.app.state.sessionmaker() as db:
            facilitator = Facilitator(
                username=username,
                display_name=display_name or username.capitalize(),
                password_hash=_hash_of(password),
                is_admin=admin,
                disabled=False,
                created_at=self.clock.now,
            )
            db.add(facilitator)
            await db.commit()
            return facilitator.id

    async def add_meeting(self, owner_id: str, **fields: Any) -> str:
        """Create a meeting straight through the service (title defaults); return its id."""
        fields.setdefault("title", "Test meeting")
        async with self.server.app.state.sessionmaker() as db:
            owner = await db.get(Facilitator, owner_id)
            assert owner is not None
            meeting = await meetings.create_meeting(
                db, owner, MeetingCreate(**fields), self.clock.now, 100
            )
            await db.commit()
            return meeting.id

    async def login(
        self, client: httpx.AsyncClient, username: str, password: str = PASSWORD, **extra: Any
    ) -> str:
        """Log in through the API and return the session token (the client keeps the cookie)."""
        response = await client.post(
            "/api/auth/login", json={"username": username, "password": password, **extra}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    @asynccontextmanager
    async def logged_in(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client carrying a bearer token (no cookie) for ``username``."""
        async with self.client() as client:
            token = await self.login(client, username)
            client.cookies.clear()
            client.headers["authorization"] = f"Bearer {token}"
            yield client


@asynccontextmanager
async def haven_server(settings: Settings, **serve_kwargs: Any) -> AsyncIterator[Haven]:
    """Serve a fresh app whose clock is a ``FakeClock`` and whose login limits are small."""
    app = create_app(settings)
    clock = FakeClock()
    app.state.clock = clock
    app.state.login_throttle = LoginThrottle(
        f"{ACCOUNT_LIMIT}/15 minutes", f"{ADDRESS_LIMIT}/15 minutes"
    )
    async with serve(settings, app=app, **serve_kwargs) as server:
        yield Haven(server=server, clock=clock)
