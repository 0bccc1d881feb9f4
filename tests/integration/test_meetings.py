"""Meetings on a real server: create with format defaults, who may edit, public detail, and the
helper the room core calls."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.auth.passwords import verify_password
from app.auth.service import find_by_username, set_disabled
from app.config import Settings
from app.meetings import service
from app.meetings.runtime import MeetingRuntime
from tests.support.accounts import Haven, haven_server

PREAMBLE = {"title": "Preamble", "text": "We are a fellowship of people who share..."}


@pytest.fixture
async def haven(settings: Settings) -> AsyncIterator[Haven]:
    async with haven_server(settings) as running:
        await running.add_facilitator("owner", display_name="Olive")
        await running.add_facilitator("cofac", display_name="Cas")
        await running.add_facilitator("other", display_name="Otto")
        await running.add_facilitator("root", display_name="Admin", admin=True)
        yield running


@pytest.fixture
async def owner(haven: Haven) -> AsyncIterator[httpx.AsyncClient]:
    async with haven.logged_in("owner") as client:
        yield client


async def _create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/meetings", json={"title": "Tuesday night", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_a_recurring_12_step_meeting(haven: Haven, owner: httpx.AsyncClient) -> None:
    created = await _create(
        owner,
        format="12-step",
        description="Step study",
        language="en-GB",
        weekdays=[3, 1],
        start_time="19:30",
        duration_min=90,
        timezone="Europe/London",
        passcode="serenity",
        lobby=True,
        chat_mode="facilitators",
        members_visible=False,
        readings=[PREAMBLE],
        co_facilitators=["Cofac"],
    )

    assert len(created["id"]) == 12
    assert created["url"] == f"{haven.url}/m/{created['id']}"
    assert created["weekdays"] == [1, 3]
    assert created["share_limit_s"] == 180  # 12-step shares are three minutes by default
    assert created["capacity"] == 100
    assert created["listed"] is True
    assert created["has_passcode"] is True
    assert created["owner"] == "owner"
    assert created["co_facilitators"] == ["cofac"]
    assert created["facilitators"] == ["Olive", "Cas"]
    assert created["is_owner"] is True
    assert created["readings"] == [PREAMBLE]
    assert created["next"]["live"] is False
    assert "passcode" not in created
    assert "serenity" not in str(created)
    assert "argon2" not in str(created)


FORMAT_DEFAULTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"format": "open-share"}, {"share_limit_s": 300, "capacity": 100, "listed": True}),
    ({"format": "12-step"}, {"share_limit_s": 180, "capacity": 100, "listed": True}),
    ({"format": "peer-mentoring"}, {"share_limit_s": 300, "capacity": 2, "listed": False}),
    ({"format": "peer-mentoring", "listed": True}, {"capacity": 2, "listed": True}),
    ({"format": "smart-recovery", "share_limit_s": 120}, {"share_limit_s": 120}),
    ({"format": "family-and-friends", "capacity": 40}, {"capacity": 40, "listed": True}),
]

INVALID: list[dict[str, Any]] = [
    {"format": "peer-mentoring", "capacity": 5},
    {"format": "book-club"},
    {"timezone": "Mars/Olympus_Mons"},
    {"timezone": "localtime"},
    {"capacity": 1},
    {"capacity": 501},
    {"share_limit_s": 29},
    {"share_limit_s": 1801},
    {"start_time": "25:00"},
    {"weekdays": [7]},
    {"language": "English"},
    {"readings": [{"title": "x" * 81, "text": "t"}]},
    {"readings": [{"title": "t", "text": "x" * 5001}]},
    {"readings": [PREAMBLE] * 21},
    {"passcode": "abc"},
    {"title": ""},
    {"unknown_field": True},
]


async def test_format_defaults(owner: httpx.AsyncClient) -> None:
    # One server for the whole table: each row is a create on it.
    for fields, expected in FORMAT_DEFAULTS:
        created = await _create(owner, **fields)
        assert {key: created[key] for key in expected} == expected, fields


async def test_invalid_definitions_are_refused(owner: httpx.AsyncClient) -> None:
    for fields in INVALID:
        response = await owner.post("/api/meetings", json={"title": "x", **fields})
        assert response.status_code == 422, fields
    assert (await owner.get("/api/facilitator/meetings")).json() == []


async def test_unknown_co_facilitator_is_named(owner: httpx.AsyncClient) -> None:
    response = await owner.post(
        "/api/meetings", json={"title": "x", "co_facilitators": ["cofac", "ghost"]}
    )
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "unknown_facilitators"
    assert "ghost" in response.json()["detail"]["message"]


async def test_a_disabled_account_cannot_be_made_a_co_facilitator(
    haven: Haven, owner: httpx.AsyncClient
) -> None:
    async with haven.server.app.state.sessionmaker() as db:
        other = await find_by_username(db, "other")
        assert other is not None
        await set_disabled(db, other, True)
        await db.commit()
    response = await owner.post("/api/meetings", json={"title": "x", "co_facilitators": ["other"]})
    assert response.status_code == 422
    assert "other" in response.json()["detail"]["message"]


async def test_create_needs_a_login_and_json(haven: Haven, owner: httpx.AsyncClient) -> None:
    async with haven.client() as anonymous:
        assert (await anonymous.post("/api/meetings", json={"title": "x"})).status_code == 401
    form = await owner.post("/api/meetings", data={"title": "x"})
    assert form.status_code == 415


async def test_public_detail_shows_display_names_only(
    haven: Haven, owner: httpx.AsyncClient
) -> None:
    created = await _create(
        owner, listed=False, passcode="serenity", co_facilitators=["cofac"], readings=[PREAMBLE]
    )
    async with haven.client() as anonymous:
        response = await anonymous.get(f"/api/meetings/{created['id']}")

    assert response.status_code == 200  # unlisted: the link is the secret
    detail = response.json()
    assert detail["facilitators"] == ["Olive", "Cas"]
    assert detail["has_passcode"] is True
    assert detail["readings"] == [PREAMBLE]
    for private in ("owner", "co_facilitators", "listed", "policy", "url", "is_owner"):
        assert private not in detail
    text = response.text
    assert '"owner"' not in text and '"cofac"' not in text and "serenity" not in text


async def test_unknown_and_malformed_ids_are_404(haven: Haven) -> None:
    async with haven.client() as anonymous:
        for meeting_id in ("AAAAAAAAAAAA", "short", "../../etc", "x" * 40):
            assert (await anonymous.get(f"/api/meetings/{meeting_id}")).status_code == 404


async def test_edit_and_delete_permissions(haven: Haven, owner: httpx.AsyncClient) -> None:
    created = await _create(owner, co_facilitators=["cofac"])
    path = f"/api/meetings/{created['id']}"
    async with (
        haven.logged_in("other") as other,
        haven.logged_in("cofac") as cofac,
        haven.logged_in("root") as admin,
        haven.client() as anonymous,
    ):
        # A facilitator of another meeting cannot edit this one, nor can a co-facilitator
        # (they run the room; the owner defines it) ...
        for client, status in ((anonymous, 401), (other, 403), (cofac, 403)):
            assert (await client.patch(path, json={"title": "Hijacked"})).status_code == status
            assert (await client.delete(path)).status_code == status
        assert (await anonymous.get(path)).json()["title"] == "Tuesday night"
        # ... the owner and an administrator can.
        edited = await owner.patch(path, json={"title": "Wednesday night", "lobby": True})
        assert edited.status_code == 200
        assert edited.json()["title"] == "Wednesday night"
        assert edited.json()["lobby"] is True
        by_admin = await admin.patch(path, json={"capacity": 12})
        assert by_admin.status_code == 200
        assert by_admin.json()["is_owner"] is False
        assert by_admin.json()["title"] == "Wednesday night"  # fields not sent are kept

        assert (await owner.delete(path)).status_code == 204
        assert (await anonymous.get(path)).status_code == 404
        assert (await admin.delete(path)).status_code == 404


async def test_patch_passcode_co_facilitators_and_format(owner: httpx.AsyncClient) -> None:
    created = await _create(owner, passcode="serenity")
    path = f"/api/meetings/{created['id']}"

    cleared = (await owner.patch(path, json={"passcode": None})).json()
    assert cleared["has_passcode"] is False
    unchanged = (await owner.patch(path, json={"description": "d"})).json()
    assert unchanged["has_passcode"] is False
    assert (await owner.patch(path, json={"passcode": "courage1"})).json()["has_passcode"]

    added = (await owner.patch(path, json={"co_facilitators": ["cofac", "owner"]})).json()
    assert added["co_facilitators"] == ["cofac"]  # the owner is not their own co-facilitator
    removed = (await owner.patch(path, json={"co_facilitators": []})).json()
    assert removed["co_facilitators"] == []

    # Switching to peer mentoring brings its defaults along; a capacity that breaks them is
    # refused and changes nothing.
    mentoring = (await owner.patch(path, json={"format": "peer-mentoring"})).json()
    assert (mentoring["capacity"], mentoring["listed"]) == (2, False)
    refused = await owner.patch(path, json={"capacity": 10})
    assert refused.status_code == 422
    assert (await owner.get(f"/api/facilitator/meetings/{created['id']}")).json()["capacity"] == 2
    twelve = (await owner.patch(path, json={"format": "12-step", "capacity": 30})).json()
    assert (twelve["share_limit_s"], twelve["capacity"]) == (180, 30)


async def test_my_meetings_include_co_facilitated_ones(
    haven: Haven, owner: httpx.AsyncClient
) -> None:
    mine = await _create(owner, title="Mine")
    shared = await _create(owner, title="Shared", co_facilitators=["cofac"])
    async with haven.logged_in("cofac") as cofac, haven.logged_in("other") as other:
        cofac_list = (await cofac.get("/api/facilitator/meetings")).json()
        other_list = (await other.get("/api/facilitator/meetings")).json()
        assert (await cofac.get(f"/api/facilitator/meetings/{shared['id']}")).status_code == 200
        assert (await other.get(f"/api/facilitator/meetings/{mine['id']}")).status_code == 403

    owner_list = (await owner.get("/api/facilitator/meetings")).json()
    assert {m["id"] for m in owner_list} == {mine["id"], shared["id"]}
    assert [m["id"] for m in cofac_list] == [shared["id"]]
    assert cofac_list[0]["is_owner"] is False
    assert other_list == []


async def test_meeting_access_gives_the_room_core_what_it_needs(
    haven: Haven, owner: httpx.AsyncClient
) -> None:
    created = await _create(
        owner,
        format="12-step",
        capacity=25,
        passcode="serenity",
        lobby=True,
        chat_mode="facilitators",
        members_visible=False,
        readings=[PREAMBLE],
        co_facilitators=["cofac"],
        policy={},
    )
    ids = {}
    async with haven.server.app.state.sessionmaker() as db:
        for username in ("owner", "cofac", "other", "root"):
            from app.auth.service import find_by_username

            account = await find_by_username(db, username)
            assert account is not None
            ids[username] = account.id
        as_owner = await service.meeting_access(db, created["id"], ids["owner"])
        as_cofac = await service.meeting_access(db, created["id"], ids["cofac"])
        as_other = await service.meeting_access(db, created["id"], ids["other"])
        as_admin = await service.meeting_access(db, created["id"], ids["root"])
        as_member = await service.meeting_access(db, created["id"], None)
        unknown = await service.meeting_access(db, "AAAAAAAAAAAA", None)

    assert unknown is None
    assert isinstance(as_owner, MeetingRuntime)
    assert (as_owner.is_owner, as_owner.is_facilitator) == (True, True)
    assert as_cofac is not None and (as_cofac.is_owner, as_cofac.is_facilitator) == (False, True)
    for outsider in (as_other, as_admin, as_member):
        assert outsider is not None
        assert (outsider.is_owner, outsider.is_facilitator) == (False, False)
    assert as_owner.capacity == 25
    assert (as_owner.lobby, as_owner.chat_mode, as_owner.members_visible) == (
        True,
        "facilitators",
        False,
    )
    assert as_owner.share_limit_s == 180
    assert [(r.title, r.text) for r in as_owner.readings] == [(PREAMBLE["title"], PREAMBLE["text"])]
    assert as_owner.facilitator_ids == {ids["owner"], ids["cofac"]}
    assert as_owner.facilitator_names == ("Olive", "Cas")
    assert [f.role for f in as_owner.facilitators] == ["owner", "cofac"]
    assert as_owner.passcode_hash is not None
    assert verify_password(as_owner.passcode_hash, "serenity").ok
    assert not verify_password(as_owner.passcode_hash, "Serenity").ok
