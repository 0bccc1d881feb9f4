"""Text UTF-8 cannot encode (a lone UTF-16 surrogate) in a request body: 422, never a 500.

JSON may escape a surrogate on its own (``"\\ud800"``) or carry it as the bytes ``ED A0 80``,
and the server's JSON parser accepts both. Such a string made argon2 (login password, ticket
passcode), hashlib (the ticket's device token) and SQLite (meeting titles) raise
``UnicodeEncodeError``: a 500. Every request body model now refuses it before anything runs
(``app.api.validation.InputModel``): ``422 invalid_text``, nothing echoed, no throttle or rate
limit spent, nothing logged, and the meeting goes on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from tests.security.harness import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, PASSWORD, Scene

LONE = "\ud800"  # a high surrogate with no low one after it
LOW = "\udfff"
CANARY = "canary-of-the-surrogate-test"
JSON = {"content-type": "application/json"}


def escaped(**fields: Any) -> bytes:
    """The body as JSON text with ``\\uXXXX`` escapes (``ensure_ascii``), as attackers send it."""
    return json.dumps(fields).encode()


def raw_bytes(**fields: Any) -> bytes:
    """The body with each surrogate written as its three raw bytes (``ED A0 80``)."""
    return json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass")


def assert_invalid_text(response: httpx.Response) -> None:
    assert response.status_code == 422, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail["code"] == "invalid_text"
    assert detail["message"]
    assert CANARY not in response.text  # nothing of the input is echoed


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """No error logged, the backstop never needed, nothing of the input in any line."""
    for record in caplog.records:
        assert record.levelno < logging.ERROR, record.getMessage()
        assert record.name != "app.api.validation", record.getMessage()
        assert CANARY not in record.getMessage()


async def test_a_surrogate_in_a_login_is_422_before_the_throttle_or_argon2(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    attacker = scene.from_new_address()
    bodies = [
        escaped(username="rival", password=f"{CANARY}{LONE}"),
        raw_bytes(username="rival", password=f"{CANARY}{LONE}"),
        escaped(username="rival", password=f"{CANARY}{LOW}x{LONE}"),
        escaped(username=f"rival{LONE}", password=CANARY),
        escaped(username="rival", password=PASSWORD, totp=f"12{LONE}"),
        escaped(password=f"{CANARY}{LONE}"),  # a required field missing as well
        escaped(**{f"{CANARY}{LONE}": 1, "username": "rival", "password": PASSWORD}),
        json.dumps(f"{CANARY}{LONE}").encode(),  # not even an object
    ]
    assert len(bodies) > max(LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS)
    for body in bodies:
        assert_invalid_text(await attacker.http.post("/api/auth/login", content=body, headers=JSON))
    # None of them counted as a failed login, for the account or for the address.
    right = await attacker.http.post(
        "/api/auth/login", json={"username": "rival", "password": PASSWORD}
    )
    assert right.status_code == 200, right.text
    assert_quiet(caplog)
    await scene.meeting_goes_on()


async def test_a_nul_in_a_login_or_a_meeting_is_422_in_the_documented_list_shape(
    scene: Scene,
) -> None:
    # PostgreSQL refuses NUL in text (a 500 there); a NUL can be rendered, so the answer is
    # FastAPI's list, the 422 the OpenAPI document describes, with the type invalid_text.
    attacker = scene.from_new_address()
    refused = await attacker.http.post(
        "/api/auth/login", json={"username": "rival\x00", "password": PASSWORD}
    )
    assert refused.status_code == 422
    assert [e["type"] for e in refused.json()["detail"]] == ["invalid_text"]
    right = await attacker.http.post(
        "/api/auth/login", json={"username": "rival", "password": PASSWORD}
    )
    assert right.status_code == 200, right.text
    await scene.meeting_goes_on()


async def test_a_surrogate_in_a_ticket_passcode_is_422_before_any_limit_is_spent(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    meeting = await scene.other_meeting(passcode="serenity prayer")
    url = f"/api/meetings/{meeting.id}/tickets"
    attacker = scene.from_new_address(meeting=meeting)
    # More than the join rate (10 a minute per address) and the passcode tries (10).
    for i in range(12):
        make = escaped if i % 2 else raw_bytes
        body = make(name="Guesser", passcode=f"{CANARY}{i}{LONE}")
        assert_invalid_text(await attacker.http.post(url, content=body, headers=JSON))
    right = await attacker.http.post(url, json={"name": "Guesser", "passcode": "serenity prayer"})
    assert right.status_code == 201, right.text
    assert_quiet(caplog)
    await scene.meeting_goes_on()


async def test_a_surrogate_in_a_ticket_device_or_name_is_422_in_a_live_room(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # The room is running, so the device token would be hashed against its bans.
    assert scene.state() is not None
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    attacker = scene.from_new_address()
    bodies = [
        escaped(name="Devon", device=f"{CANARY}{LONE}"),
        raw_bytes(name="Devon", device=f"{CANARY}{LONE}"),
        escaped(name=f"Dev{LONE}on", device=CANARY),
        escaped(name=f"{LONE}"),
    ]
    for body in bodies:
        assert_invalid_text(await attacker.http.post(url, content=body, headers=JSON))
    joined = await attacker.http.post(url, json={"name": "Devon", "device": CANARY})
    assert joined.status_code == 201, joined.text
    assert_quiet(caplog)
    await scene.meeting_goes_on()


async def test_a_surrogate_in_a_meeting_definition_is_422_and_nothing_is_written(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    meeting = await scene.other_meeting(owner="rival", description="as it was")
    rival = scene.from_new_address(token=await scene.haven.session_token("rival"))
    auth = {"authorization": f"Bearer {rival.token}", **JSON}

    async def mine() -> list[tuple[str, str]]:
        listed = (await rival.http.get("/api/facilitator/meetings", headers=auth)).json()
        return sorted((m["id"], m["updated_at"]) for m in listed)

    mine_before = await mine()
    bad = f"{CANARY}{LONE}"
    definitions: list[dict[str, Any]] = [
        {"title": bad},
        {"title": "Fine", "description": bad},
        {"title": "Fine", "readings": [{"title": "Preamble", "text": bad}]},
        {"title": "Fine", "readings": [{"title": bad, "text": "We welcome you."}]},
        {"title": "Fine", "policy": {bad: 1}},
        {"title": "Fine", "co_facilitators": [bad]},
        {"title": "Fine", "passcode": bad},
    ]
    for definition in definitions:
        for make in (escaped, raw_bytes):
            created = await rival.http.post(
                "/api/meetings", content=make(**definition), headers=auth
            )
            assert_invalid_text(created)
            edited = await rival.http.patch(
                f"/api/meetings/{meeting.id}", content=make(**definition), headers=auth
            )
            assert_invalid_text(edited)
    assert await mine() == mine_before
    shown = (await rival.http.get(f"/api/meetings/{meeting.id}")).json()
    assert shown["description"] == "as it was"
    assert_quiet(caplog)
    await scene.meeting_goes_on()
