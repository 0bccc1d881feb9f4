"""Abuse of the HTTP API: floods of joins, guessing secrets, injections, traversal, probing.

Each attacker comes from an address of its own (the limits are per address), and each test
ends with the meeting going on for its bystander. Covered in tests/integration/test_auth.py
and referenced, not repeated: the account and address login throttles with a fake clock, the
planted-cookie case of session fixation, JSON-only mutating endpoints.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time

import pytest

from app.auth.sessions import COOKIE_NAME
from app.rooms import router as rooms_router
from tests.security.harness import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, PASSWORD, Scene
from tests.support.rooms import UNIT_S

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE meetings; --",
    "' UNION SELECT username, password_hash FROM facilitators --",
    "admin'--",
    "%' AND 1=0 UNION SELECT sqlite_version() --",
    "\\' OR 1=1 #",
    '{"$gt": ""}',
]
LEAKS = re.compile(
    r"argon2|password_hash|sqlite|SELECT|Traceback|sqlalchemy|OperationalError|syntax error",
    re.IGNORECASE,
)


async def test_a_flood_of_joins_from_one_address_is_throttled_429(scene: Scene) -> None:
    attacker = scene.from_new_address()
    url = f"/api/meetings/{scene.meeting.id}/tickets"
    responses = [
        await attacker.http.post(url, json={"name": f"Troll{chr(97 + i)}"}) for i in range(14)
    ]
    statuses = [r.status_code for r in responses]
    assert statuses[:10] == [201] * 10 and set(statuses[10:]) == {429}, statuses
    refused = responses[-1]
    assert refused.json()["detail"]["code"] == "throttled"
    assert 0 < int(refused.headers["Retry-After"]) <= 60  # the window is a minute
    # A forged X-Forwarded-For changes nothing: no proxy is trusted by default.
    spoofed = await attacker.http.post(
        url, json={"name": "Trollz"}, headers={"x-forwarded-for": "203.0.113.7"}
    )
    assert spoofed.status_code == 429
    # Anyone else still gets in.
    newcomer = await scene.from_new_address().join("Newcomer")
    cid = await newcomer.say("made it")
    await scene.bystander.event("msg", cid=cid)
    await scene.meeting_goes_on()


async def test_passcode_guessing_is_throttled_before_argon2_runs(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production: 10 tries per 10 minutes per meeting and address, behind the join rate of
    # 10 a minute. A lower limit here shows the passcode throttle is what stops the guesser.
    monkeypatch.setattr(rooms_router, "PASSCODE_TRIES", rooms_router.parse("3/10minute"))
    meeting = await scene.other_meeting(passcode="serenity prayer")
    url = f"/api/meetings/{meeting.id}/tickets"
    attacker = scene.from_new_address()
    guesses = ["serenity", "password", "1234"]
    for guess in guesses:
        response = await attacker.http.post(url, json={"name": "Guesser", "passcode": guess})
        assert response.status_code == 403
        assert response.json()["detail"]["code"] == "wrong_passcode"
    started = time.perf_counter()
    right = await attacker.http.post(url, json={"name": "Guesser", "passcode": "serenity prayer"})
    assert right.status_code == 429
    assert right.json()["detail"]["code"] == "throttled"
    assert "passcode" in right.json()["detail"]["message"]
    # The oldest of the three tries leaves the 10-minute window in (almost) 10 minutes.
    assert 500 < int(right.headers["Retry-After"]) <= 600
    assert time.perf_counter() - started < UNIT_S  # refused without hashing anything
    # The meeting's members, from their own addresses, are not locked out.
    member = await scene.from_new_address(meeting=meeting).ticket(
        "Member", passcode="serenity prayer"
    )
    assert member
    await scene.meeting_goes_on()


async def test_login_guessing_is_throttled_per_account_and_per_address(scene: Scene) -> None:
    # The windows (15 minutes) are tested with a fake clock in tests/integration/test_auth.py.
    attacker = scene.from_new_address()
    for _ in range(LOGIN_PER_ACCOUNT):
        response = await attacker.http.post(
            "/api/auth/login", json={"username": "target", "password": "guess"}
        )
        assert response.status_code == 401
    locked = await attacker.http.post(
        "/api/auth/login", json={"username": "target", "password": PASSWORD}
    )
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # Spraying one guess over many accounts hits the address limit instead.
    sprayer = scene.from_new_address()
    codes = [
        (
            await sprayer.http.post(
                "/api/auth/login", json={"username": f"user{i}", "password": "guess"}
            )
        ).status_code
        for i in range(LOGIN_PER_ADDRESS + 2)
    ]
    assert codes[:LOGIN_PER_ADDRESS] == [401] * LOGIN_PER_ADDRESS
    assert set(codes[LOGIN_PER_ADDRESS:]) == {429}, codes
    await scene.meeting_goes_on()


async def test_a_stolen_session_cannot_guess_the_password_through_totp_removal(
    scene: Scene,
) -> None:
    """``DELETE /api/auth/totp`` re-checks the password: it is throttled like a login."""
    thief = scene.from_new_address(token=await scene.haven.session_token("rival"))
    headers = {"authorization": f"Bearer {thief.token}"}
    codes = []
    for guess in ("guess1", "guess2", "guess3", "guess4", PASSWORD):
        response = await thief.http.request(
            "DELETE", "/api/auth/totp", json={"password": guess}, headers=headers
        )
        codes.append(response.status_code)
    assert codes == [401] * LOGIN_PER_ACCOUNT + [429] * (5 - LOGIN_PER_ACCOUNT), codes
    await scene.meeting_goes_on()


async def test_session_fixation_a_planted_token_never_becomes_a_login(scene: Scene) -> None:
    # A token the attacker holds (their own valid session, or one made up) is planted in the
    # victim's browser before the victim logs in.
    attacker_token = await scene.haven.session_token("rival")
    victim = scene.from_new_address()
    for planted in (attacker_token, secrets.token_urlsafe(32)):
        victim.http.cookies.set(COOKIE_NAME, planted)
        response = await victim.http.post(
            "/api/auth/login", json={"username": "cohost", "password": PASSWORD}
        )
        assert response.status_code == 200
        issued = response.cookies[COOKIE_NAME]
        assert issued != planted and response.json()["token"] == issued
        me = await victim.http.get("/api/auth/me", headers={"authorization": f"Bearer {planted}"})
        assert me.status_code == 401  # the planted token opens nothing, not even the old one
        victim.http.cookies.clear()
    await scene.meeting_goes_on()


async def test_sql_injection_in_every_parameter_gets_4xx_and_leaks_nothing(
    scene: Scene,
) -> None:
    hidden = await scene.other_meeting(title="Unlisted canary meeting", listed=False)
    http = scene.from_new_address(token=await scene.haven.session_token("rival")).http
    auth = {"authorization": f"Bearer {await scene.haven.session_token('rival')}"}
    responses = []
    for payload in INJECTIONS:
        requests = [
            http.get("/api/meetings", params={"format": payload}),
            http.get("/api/meetings", params={"language": payload}),
            http.get("/api/meetings", params={"tz": payload}),
            http.get("/api/meetings", params={"live": payload}),
            http.get(f"/api/meetings/{payload}"),
            http.get(f"/api/meetings/{hidden.id}{payload}"),
            http.get(f"/api/meetings/{hidden.id}/audit", params={"occurrence": payload}),
            http.get(f"/api/meetings/{payload}/audit", headers=auth),
            http.get(f"/api/facilitator/meetings/{payload}", headers=auth),
            http.patch(f"/api/meetings/{payload}", json={"title": "x"}, headers=auth),
            http.delete(f"/api/meetings/{payload}", headers=auth),
            http.post(f"/api/meetings/{payload}/tickets", json={"name": "Sam"}),
            http.post("/api/auth/login", json={"username": payload, "password": payload}),
            http.post(
                "/api/auth/invites/accept",
                json={
                    "token": f"{payload}{'x' * 16}",
                    "username": payload,
                    "display_name": "X",
                    "password": PASSWORD * 2,
                },
            ),
        ]
        responses += [(payload, response) for response in await asyncio.gather(*requests)]
    for payload, response in responses:
        assert 400 <= response.status_code < 500 or (
            response.status_code == 200 and response.request.url.path == "/api/meetings"
        ), (response.request.url, response.status_code)
        # Validation errors echo the input back (as JSON): look past the echo for a leak.
        text = response.text
        for echo in (json.dumps(payload)[1:-1], payload):
            text = re.sub(re.escape(echo), "", text, flags=re.IGNORECASE)
        assert not LEAKS.search(text), (response.request.url, text[:200])
        assert "Unlisted canary meeting" not in response.text
    # Nothing was dropped or changed: the meetings and accounts are all still there.
    assert (await http.get(f"/api/meetings/{hidden.id}")).json()["title"] == (
        "Unlisted canary meeting"
    )
    assert (await http.get("/api/auth/me", headers=auth)).json()["username"] == "rival"
    await scene.meeting_goes_on()


async def test_path_traversal_on_static_files_finds_nothing(scene: Scene) -> None:
    paths = [
        "/../app/config.py",
        "/%2e%2e/app/config.py",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2fapp%2fconfig.py",
        "/..%5capp%5cconfig.py",
        "/%252e%252e/app/config.py",
        "/js/../../app/config.py",
        "/js/%2e%2e/%2e%2e/pyproject.toml",
        "/css/..%2f..%2fpyproject.toml",
        "/m/..%2f..%2fapp%2fconfig.py",
        "//etc/passwd",
        "/.git/config",
        "/.env",
        "/secret.key",
        "/data/secret.key",
        "/%00/../app/config.py",
        "/js/app.js%00.html",
    ]
    secret = scene.server.settings.secret_key.get_secret_value()
    attacker = scene.from_new_address()
    for path in paths:
        reader, writer = await attacker.open_raw()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 3 * UNIT_S)
        status = answer.split(b" ", 2)[1]
        assert status in {b"400", b"404"}, (path, answer[:200])
        for leak in (secret.encode(), b"pydantic", b"[project]", b"root:", b"[core]"):
            assert leak not in answer, path
    await scene.meeting_goes_on()


async def test_meeting_ids_cannot_be_enumerated(scene: Scene) -> None:
    # 72 random bits each: at a million guesses a second, a hit takes about 75,000 years.
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", scene.meeting.id)
    unlisted = await scene.other_meeting(title="Unlisted", listed=False)
    gone = await scene.other_meeting(title="Deleted")
    auth = {"authorization": f"Bearer {scene.meeting.token}"}
    assert (await scene.meeting.http.delete(f"/api/meetings/{gone.id}", headers=auth)).is_success
    prober = scene.from_new_address()
    # The public detail: an unknown id, a deleted one and a malformed one look the same.
    guesses = [secrets.token_urlsafe(9) for _ in range(20)] + [gone.id, "short", "x" * 40]
    answers = await asyncio.gather(*(prober.http.get(f"/api/meetings/{g}") for g in guesses))
    assert {(r.status_code, r.text) for r in answers} == {(404, answers[0].text)}
    # The directory never lists what is unlisted; the link itself still works.
    listed = (await prober.http.get("/api/meetings")).json()["meetings"]
    assert unlisted.id not in {m["id"] for m in listed}
    assert (await prober.http.get(f"/api/meetings/{unlisted.id}")).status_code == 200
    # Tickets: an unknown meeting and a deleted one answer alike, and probing is throttled
    # with the join rate (10 a minute per address).
    answers = []
    for guess in [secrets.token_urlsafe(9) for _ in range(8)] + [gone.id]:
        response = await prober.http.post(f"/api/meetings/{guess}/tickets", json={"name": "Prober"})
        answers.append((response.status_code, response.text))
    assert len(set(answers)) == 1 and answers[0][0] == 404, set(answers)
    throttled = await prober.http.post(
        f"/api/meetings/{unlisted.id}/tickets", json={"name": "Prober"}
    )
    assert throttled.status_code == 201  # the tenth: still allowed
    throttled = await prober.http.post(
        f"/api/meetings/{unlisted.id}/tickets", json={"name": "Prober"}
    )
    assert throttled.status_code == 429
    await scene.meeting_goes_on()


async def test_cross_site_requests_cannot_use_a_facilitators_session(scene: Scene) -> None:
    # A cross-site page can send a form (not JSON) with cookies, or a fetch that needs a CORS
    # preflight Haven never approves; the cookie is SameSite=Strict besides.
    site = scene.from_new_address()
    site.http.cookies.set(COOKIE_NAME, scene.meeting.token)
    evil = {"origin": "https://evil.example"}
    form = await site.http.post(
        "/api/meetings",
        content=b"title=Hijacked",
        headers={**evil, "content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    ticket = await site.http.post(
        f"/api/meetings/{scene.meeting.id}/tickets",
        content=b'{"name": "x"}',
        headers={**evil, "content-type": "text/plain"},
    )
    assert ticket.status_code == 422  # no facilitator ticket minted from a cross-site form
    preflight = await site.http.options(
        "/api/meetings",
        headers={**evil, "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    await scene.meeting_goes_on()
