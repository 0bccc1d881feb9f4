"""What members type: pseudonyms that impersonate, and text that tries to become markup.

Haven never renders HTML from member text: it carries text as JSON strings, and the web client
puts it in the page with ``textContent`` only. These tests pin both halves, and that what was
said is written nowhere on disk or in the logs.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from tests.security.harness import Scene, goes_on, started
from tests.support.server import CLIENT_LOGGERS as CLIENTS

WEB_JS = Path(__file__).resolve().parents[2] / "web" / "js"
XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(document.cookie)",
    "<svg/onload=alert(1)>",
    "{{7*7}} ${7*7} #{7*7}",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "&lt;b&gt; &amp; &#60;script&#62;",
    "</script><script>alert(1)</script>",
    "<style>*{display:none}</style>",
]


async def test_pseudonyms_that_impersonate_a_facilitator_are_refused_422(scene: Scene) -> None:
    # The host's display name is "Robin" (tests/security/harness.py: ACCOUNTS).
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    impostors = [
        "Robin",  # the name itself
        "ROBIN",
        "R0bin",  # digit for letter
        "Rоbin",  # Cyrillic o among Latin letters
        "Ｒｏｂｉｎ",  # fullwidth
        "Robin\u200b",  # zero-width space
        "Ro\u200dbin",  # zero-width joiner
        "\u202enibor",  # right-to-left override: displays as "robin"
        "Robin\u2066",  # bidi isolate
        "\u3164",  # Hangul filler: an invisible name
        "Host",
        "Admin Sam",
        "M0derator",
        "Haven Support",
        "R\u0336\u0335\u0334\u0337obin",  # stacked combining marks
        "",
        " ",
        "x" * 33,
    ]
    for i, name in enumerate(impostors):
        if i % 8 == 0:  # every ticket request counts against the address's join rate
            attacker = scene.from_new_address()
        response = await attacker.http.post(url, json={"name": name})
        assert response.status_code == 422, (name, response.text)
    state = scene.state()
    assert {m.name for m in state.members.values()} == {"Robin", "Bystander"}
    await scene.meeting_goes_on()


async def test_pseudonyms_that_abuse_or_hold_contact_details_are_refused_422(
    scene: Scene,
) -> None:
    """A name is shown to everyone next to every message: it is screened by the chat's
    stages (app/moderation/names.py), and refused with the reason as the message."""
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    attacker = scene.from_new_address()
    refused = {
        "n1gg3r": "name.abuse",
        "KillYourselfBob": "name.abuse",
        "555-123-4567": "name.contact",
        "@sam_insta": "name.contact",
        "buy xans dm me": "name.solicitation",
    }
    for name, reason in refused.items():
        response = await attacker.http.post(url, json={"name": name})
        assert response.status_code == 422, (name, response.text)
        assert response.json() == {"detail": {"code": "name_refused", "message": reason}}
    welcome = scene.from_new_address()
    for name in ("Dickson", "Hope4Today"):
        response = await welcome.http.post(url, json={"name": name})
        assert response.status_code == 201, (name, response.text)
    await scene.meeting_goes_on()


async def test_a_look_alike_of_a_members_name_is_refused_409(scene: Scene) -> None:
    """Members impersonate members too: "Рор" (all Cyrillic) is not mixed-script, yet it
    reads as "Pop" to everyone in the room."""
    pop = await scene.from_new_address().join("Pop")
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    for name in ("Pop", "POP", "Ｐｏｐ", "Рор", "P0p", "Ppop"):
        # From several addresses: one address gets five such answers per meeting
        # (test_rooms.py::test_trying_names_one_after_another_is_slowed_to_a_few).
        attacker = scene.from_new_address()
        response = await attacker.http.post(url, json={"name": name})
        assert response.status_code == 409, (name, response.text)
    # Real names in any script, and names merely close to another, still join.
    welcome = scene.from_new_address()
    for name in ("Анна", "مريم", "Zoë", "李雷", "Poppy"):
        response = await welcome.http.post(url, json={"name": name})
        assert response.status_code == 201, (name, response.text)
    await pop.send({"t": "ping"})
    await pop.event("pong")
    await scene.meeting_goes_on()


async def test_markup_in_every_text_field_travels_as_inert_json_text(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"canary{secrets.token_hex(6)}"  # said in the meeting: must be stored nowhere
    pseudonym = f'<b>Sam</b>"><img src=x>{canary[-6:]}'
    lobby_meeting = await scene.other_meeting(
        lobby=True,
        title="<script>alert('title')</script>",
        description='<img src=x onerror="alert(1)">',
        readings=[{"title": "<b>Step one</b>", "text": "<script>alert(2)</script>"}],
    )
    host, bystander = await started(lobby_meeting)
    # The pseudonym: markup is not a reason to refuse a name, and it arrives as text.
    author = await scene.from_new_address().join(pseudonym)
    mine = [m for m in author.welcome["room"]["members"] if m["m"] == author.me]
    assert mine[0]["n"] == pseudonym
    assert (await scene.bystander.event("join", m=author.me))["n"] == pseudonym
    # Chat text (five per sender: the message rate limit), client ids, report reasons.
    senders = [author, await scene.from_new_address().join("Writer")]
    for i, payload in enumerate([*XSS, canary]):
        sender = senders[i % 2]
        cid = f"<i>{i}</i>"
        await sender.send({"t": "say", "cid": cid, "x": payload})
        frame = await scene.bystander.event("msg", cid=cid)
        assert frame["x"] == payload and frame["cid"] == cid
    await scene.bystander.send({"t": "report", "m": author.me, "why": XSS[0]})
    assert (await scene.host.event("report", m=author.me))["why"] == XSS[0]
    # Lobby messages, to someone waiting.
    lurker = await scene.from_new_address(meeting=lobby_meeting).join("Waiting")
    await host.send({"t": "lobby_say", "x": XSS[1]})
    assert (await lurker.event("lobby_msg"))["x"] == XSS[1]
    # Over HTTP: JSON, never HTML, and the browser told not to sniff.
    detail = await scene.meeting.http.get(f"/api/meetings/{lobby_meeting.id}")
    assert detail.headers["content-type"] == "application/json"
    assert detail.headers["x-content-type-options"] == "nosniff"
    assert detail.json()["title"].startswith("<script>alert('title')</script>")
    for path in (
        f"/m/{XSS[0]}",
        f"/console?next={XSS[1]}",
        f"/{XSS[3]}",
        f"/api/meetings/{XSS[3]}",
        f"/api/meetings?language={XSS[0]}",
        f"/api/meetings?tz={XSS[1]}",
    ):
        response = await scene.meeting.http.get(path)
        if response.headers["content-type"].startswith("text/html"):
            assert "alert(" not in response.text, path  # a static page: nothing reflected
            assert "script-src 'self'" in response.headers["content-security-policy"]
        else:
            assert response.headers["content-type"] == "application/json", path
    await goes_on(scene.haven, lobby_meeting, host, bystander)
    await scene.meeting_goes_on()
    # Said, delivered, and written nowhere: not in the data directory, not in any log line.
    server_lines = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith(CLIENTS)
    )
    for secret in (canary, pseudonym):
        assert secret not in server_lines
    for path in scene.server.settings.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert canary.encode() not in data, path
            assert pseudonym.encode() not in data, path
