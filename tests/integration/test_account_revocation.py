"""Recovering a stolen facilitator account (``haven facilitator disable`` / ``passwd``) ends
the room powers its sessions gave, within ``HAVEN_ACCOUNT_CHECK_S``, on a real server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.models import Facilitator
from app.config import Settings
from tests.support.rooms import Meeting, Member, live_with_cole
from tests.support.server import LiveServer

REVOKED = 4010
NEW_PASSWORD = "a brand new long passphrase 42"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", account_check_s=0.2)


async def a_meeting_handed_to_cole(
    live_server: LiveServer, http: httpx.AsyncClient
) -> tuple[Meeting, Meeting, Member, Member, Member]:
    """The owner's meeting, live, with Sam in it, handed over to co-facilitator Cole."""
    ours, cole_account, owner = await live_with_cole(live_server, http)
    cole = await Meeting(live_server, ours.id, cole_account.token, http).join(facilitator=True)
    sam = await ours.join("Sam")
    await owner.send({"t": "host", "m": cole.me})
    await cole.event("role", m=cole.me, r="host")
    return ours, cole_account, owner, cole, sam


async def on_coles_account(
    live_server: LiveServer,
    recover: Callable[[AsyncSession, Facilitator], Awaitable[None]],
) -> None:
    """What ``haven facilitator disable`` / ``passwd`` do, on Cole's account."""
    async with live_server.app.state.sessionmaker() as db:
        account = await auth_service.find_by_username(db, "cole")
        assert account is not None
        await recover(db, account)
        await db.commit()


async def test_a_disabled_account_loses_the_meeting_it_was_handed_and_the_owner_hosts_again(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    ours, _, owner, cole, sam = await a_meeting_handed_to_cole(live_server, http)
    await on_coles_account(
        live_server, lambda db, account: auth_service.set_disabled(db, account, True)
    )
    assert await cole.closed() == REVOKED
    await sam.event("leave", m=cole.me, why="revoked")
    await owner.event("role", m=owner.me, r="host")
    # Its resume token is worth nothing now: Cole is no longer a member of the room.
    await owner.send({"t": "mute", "m": sam.me, "on": True})
    await sam.event("mute", m=sam.me, on=True)


async def test_a_reset_password_voids_the_old_tickets_but_not_the_account(
    live_server: LiveServer, http: httpx.AsyncClient
) -> None:
    ours, cole_account, owner, cole, sam = await a_meeting_handed_to_cole(live_server, http)
    await on_coles_account(
        live_server, lambda db, account: auth_service.reset_password(db, account, NEW_PASSWORD)
    )
    assert await cole.closed() == REVOKED
    await owner.event("role", m=owner.me, r="host")
    # Logged in again with the new password, Cole comes back as the team says: co-facilitator.
    login = await http.post(
        "/api/auth/login",
        json={"username": "cole", "password": NEW_PASSWORD},
    )
    assert login.status_code == 200, login.text
    fresh = Meeting(live_server, ours.id, login.json()["token"], http)
    fresh.validator = ours.validator
    back = await fresh.join(facilitator=True)
    assert back.welcome["role"] == "cofac"
    await sam.event("join", m=back.me)
