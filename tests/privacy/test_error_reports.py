"""Error reports carry no content: a bug that quotes what a member typed stays out of the log.

The code never logs message text, names or addresses on purpose. These tests inject the kind
of bug that would do it by accident: an exception whose message quotes the member's text or
name (a ``ValueError(f"... {text!r}")``, a pydantic error with ``input_value=...``), raised on
the WebSocket message path and in the ticket endpoint. uvicorn then logs "Exception in ASGI
application" with the traceback; the privacy filter must keep where it happened (the stack,
the exception type) and withhold what the exception says.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from app.config import Settings
from tests.privacy.canaries import Scanner, token
from tests.privacy.meeting_script import OTHER_ADDRESS, SERVER_ADDRESS, http_from
from tests.support.rooms import Meeting, create_meeting
from tests.support.server import LiveServer, serve


class Strict(BaseModel):
    count: int


def quoting_bug(text: str) -> None:
    """What a careless validation would raise: its message quotes the input."""
    if text.startswith("CANARY"):
        Strict.model_validate({"count": text})  # pydantic: "... input_value='CANARY...'"
    raise ValueError(f"cannot handle {text!r}")


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[LiveServer, io.StringIO]]:
    log = io.StringIO()
    async with serve(settings, host=SERVER_ADDRESS, log_stream=log) as server:
        yield server, log


@pytest.fixture
async def meeting(served: tuple[LiveServer, io.StringIO]) -> AsyncIterator[Meeting]:
    server, _log = served
    async with http_from(server, OTHER_ADDRESS) as http:
        yield await create_meeting(server, http, policy={"newcomer_cooldown": 0})


def assert_reported_without_content(log: str, secrets: dict[str, str]) -> None:
    assert "Exception in ASGI application" in log  # the bug was reported...
    assert "quoting_bug" in log  # ...with where it happened...
    hits = Scanner.of(secrets, (OTHER_ADDRESS,)).scan_text("log", log)
    assert not hits, "\n".join(map(str, hits))  # ...and without what it quoted.


async def test_exception_on_the_message_path_does_not_log_the_message(
    served: tuple[LiveServer, io.StringIO], meeting: Meeting, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, log = served
    secrets = {"message": f"{token()} I relapsed last night", "pseudonym": token()}
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    member = await meeting.join(secrets["pseudonym"])
    pipeline = server.app.state.rooms.pipeline

    def screen(text: str, ctx: Any) -> Any:
        quoting_bug(text)
        return pipeline.screen(text, ctx)

    monkeypatch.setattr(server.app.state.rooms, "pipeline", type("Buggy", (), {"screen": screen}))
    await member.say(secrets["message"])
    await member.closed()  # the connection dies with the bug (no close frame)
    assert_reported_without_content(log.getvalue(), secrets)


async def test_exception_in_the_ticket_endpoint_does_not_log_the_name(
    served: tuple[LiveServer, io.StringIO], meeting: Meeting, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, log = served
    secrets = {"pseudonym": token(), "passcode": token()}

    def problem(name: str, _facilitators: Any) -> None:
        quoting_bug(name)

    monkeypatch.setattr("app.rooms.router.pseudonym_problem", problem)
    transport = httpx.AsyncHTTPTransport(local_address=OTHER_ADDRESS)
    async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
        response = await client.post(
            f"/api/meetings/{meeting.id}/tickets", json={"name": secrets["pseudonym"]}
        )
    assert response.status_code == 500
    # Written by Starlette's outermost error layer, and still with the security headers.
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert_reported_without_content(log.getvalue(), secrets)
