"""Facilitator accounts on a real server: login, throttling, sessions, TOTP, invites, privacy."""

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.auth import service as auth_service
from app.auth import totp
from app.auth.models import Facilitator, FacilitatorSession
from app.auth.sessions import COOKIE_NAME, token_digest
from app.config import Settings
from tests.support.accounts import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    PASSWORD,
    Haven,
    haven_server,
)

WRONG = "not the right password"


@pytest.fixture
async def haven(settings: Settings) -> AsyncIterator[Haven]:
    async with haven_server(settings) as running:
        yield running


@pytest.fixture
async def client(haven: Haven) -> AsyncIterator[httpx.AsyncClient]:
    async with haven.client() as http:
        yield http


async def _login(
    client: httpx.AsyncClient, username: str, password: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"username": username, "password": password, **extra}
    )


# --- login ------------------------------------------------------------------------------------


async def test_login_sets_a_strict_httponly_cookie_and_returns_the_public_account(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    account_id = await haven.add_facilitator("ana", display_name="Ana M", admin=True)

    response = await _login(client, "  Ana ", PASSWORD)  # usernames are case-insensitive

    assert response.status_code == 200
    body = response.json()
    assert body["facilitator"] == {
        "id": account_id,
        "username": "ana",
        "display_name": "Ana M",
        "is_admin": True,
        "totp": False,
    }
    assert set(body) == {"token", "expires_at", "facilitator"}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={body['token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # HAVEN_BEHIND_TLS is off
    # The cookie alone authenticates the browser console ...
    me = await client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "ana"
    # ... and the token alone an API client.
    async with haven.client(headers={"authorization": f"Bearer {body['token']}"}) as api:
        assert (await api.get("/api/auth/me")).json()["id"] == account_id


async def test_cookie_is_secure_behind_tls(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", behind_tls=True)
    async with haven_server(settings) as haven, haven.client() as client:
        await haven.add_facilitator("ana")
        response = await _login(client, "ana", PASSWORD)
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


async def test_wrong_password_and_unknown_user_get_the_same_401(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")

    wrong = await _login(client, "ana", WRONG)
    unknown = await _login(client, "nobody", WRONG)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"]["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_disabled_account_cannot_log_in(haven: Haven, client: httpx.AsyncClient) -> None:
    account_id = await haven.add_facilitator("ana")
    async with haven.server.app.state.sessionmaker() as db:
        account = await db.get(Facilitator, account_id)
        assert account is not None
        account.disabled = True
        await db.commit()

    assert (await _login(client, "ana", PASSWORD)).status_code == 401


async def test_mutating_endpoints_require_json(haven: Haven, client: httpx.AsyncClient) -> None:
    await haven.add_facilitator("ana")
    form = await client.post("/api/auth/login", data={"username": "ana", "password": PASSWORD})
    assert form.status_code == 415
    token = await haven.login(client, "ana")
    # A cross-site form could send this body type; it must not log anyone out either.
    plain = await client.post(
        "/api/auth/logout", content=b"x", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 415
    async with haven.client(headers={"authorization": f"Bearer {token}"}) as api:
        assert (await api.get("/api/auth/me")).status_code == 200


# --- throttling -------------------------------------------------------------------------------


async def test_failed_logins_are_throttled_per_account(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    await haven.add_facilitator("ben")
    for _ in range(ACCOUNT_LIMIT):
        assert (await _login(client, "ana", WRONG)).status_code == 401

    throttled = await _login(client, "ana", PASSWORD)  # even the right password now

    assert throttled.status_code == 429
    assert throttled.json()["detail"]["code"] == "throttled"
    retry_after = int(throttled.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    # The limit is the account's: another account from the same address still logs in.
    assert (await _login(client, "ben", PASSWORD)).status_code == 200


async def test_a_burst_of_parallel_logins_is_throttled_like_a_sequence(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    # All sent at once: each password check holds its place before argon2 runs, so no more
    # than the limit are checked, and the right password in the burst is refused too.
    await haven.add_facilitator("ana")
    burst = [WRONG] * (3 * ACCOUNT_LIMIT) + [PASSWORD]
    responses = await asyncio.gather(*(_login(client, "ana", p) for p in burst))
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) + statuses.count(200) <= ACCOUNT_LIMIT, statuses
    assert statuses.count(429) >= len(burst) - ACCOUNT_LIMIT


async def test_failed_logins_are_throttled_per_address(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    # One failure each against many names (the per-account limit is never reached) ...
    for index in range(ADDRESS_LIMIT):
        assert (await _login(client, f"guess{index}", WRONG)).status_code == 401

    # ... exhausts the address: a real account with its right password is refused from here.
    throttled = await _login(client, "ana", PASSWORD)

    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


async def test_a_successful_login_resets_the_account_count(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    for _ in range(ACCOUNT_LIMIT - 1):
        await _login(client, "ana", WRONG)
    assert (await _login(client, "ana", PASSWORD)).status_code == 200

    assert (await _login(client, "ana", WRONG)).status_code == 401  # not yet throttled


# --- sessions ---------------------------------------------------------------------------------


async def test_session_expires_after_its_ttl(haven: Haven) -> None:
    await haven.add_facilitator("ana")
    async with haven.logged_in("ana") as api:
        assert (await api.get("/api/auth/me")).status_code == 200
        haven.clock.advance(seconds=haven.server.settings.session_ttl_s - 1)
        assert (await api.get("/api/auth/me")).status_code == 200
        haven.clock.advance(seconds=1)

        expired = await api.get("/api/auth/me")

    assert expired.status_code == 401
    assert expired.json()["detail"]["code"] == "not_authenticated"


async def test_logout_invalidates_the_token(haven: Haven, client: httpx.AsyncClient) -> None:
    await haven.add_facilitator("ana")
    token = await haven.login(client, "ana")

    response = await client.post("/api/auth/logout", json={})

    assert response.status_code == 204
    assert (
        f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
        or "Max-Age=0" in (response.headers["set-cookie"])
    )
    async with haven.client(headers={"authorization": f"Bearer {token}"}) as api:
        assert (await api.get("/api/auth/me")).status_code == 401
    async with haven.server.app.state.sessionmaker() as db:
        assert await db.get(FacilitatorSession, token_digest(token)) is None


async def test_login_issues_a_new_session_and_revokes_the_presented_one(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    first = await haven.login(client, "ana")

    second = await haven.login(client, "ana")  # the client presents the first cookie

    assert second != first
    assert client.cookies[COOKIE_NAME] == second
    async with haven.client(headers={"authorization": f"Bearer {first}"}) as old:
        assert (await old.get("/api/auth/me")).status_code == 401
    # Only digests are stored: neither token appears in the table.
    async with haven.server.app.state.sessionmaker() as db:
        stored = list((await db.execute(select(FacilitatorSession.token_hash))).scalars())
    assert stored == [token_digest(second)]


async def test_a_planted_session_id_is_not_promoted(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    client.cookies.set(COOKIE_NAME, "chosen-by-an-attacker-0000000000000000000000")

    token = await haven.login(client, "ana")

    assert token != "chosen-by-an-attacker-0000000000000000000000"


# --- second factor ----------------------------------------------------------------------------


async def test_totp_enrol_confirm_login_replay_and_remove(
    haven: Haven, client: httpx.AsyncClient
) -> None:
    await haven.add_facilitator("ana")
    await haven.login(client, "ana")

    enrolled = (await client.post("/api/auth/totp/enroll", json={})).json()
    assert enrolled["uri"].startswith("otpauth://totp/Haven:ana?")
    secret = enrolled["secret"]
    # Not active before confirmation: a half-done enrolment cannot lock anyone out.
    assert (await client.get("/api/auth/me")).json()["totp"] is False
    bad = await client.post("/api/auth/totp/confirm", json={"code": "000000", "password": PASSWORD})
    assert bad.status_code == 401
    confirm_code = totp.code_at(secret, haven.clock.now)
    # A session alone cannot turn it on (a stolen one would lock the owner out): the password.
    sessionless = await client.post("/api/auth/totp/confirm", json={"code": confirm_code})
    assert sessionless.status_code == 422
    wrong = await client.post(
        "/api/auth/totp/confirm", json={"code": confirm_code, "password": WRONG}
    )
    assert wrong.status_code == 401
    assert (await client.get("/api/auth/me")).json()["totp"] is False
    confirmed = await client.post(
        "/api/auth/totp/confirm", json={"code": confirm_code, "password": PASSWORD}
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["totp"] is True
    assert (await client.post("/api/auth/totp/enroll", json={})).status_code == 409

    async with haven.client() as fresh:
        without = await _login(fresh, "ana", PASSWORD)
        assert without.status_code == 401
        assert without.json()["detail"]["code"] == "totp_required"
        # The code used to confirm cannot be used again to log in (same time step).
        replayed = await _login(fresh, "ana", PASSWORD, totp=confirm_code)
        assert replayed.status_code == 401
        haven.clock.advance(seconds=30)
        code = totp.code_at(secret, haven.clock.now)
        assert (await _login(fresh, "ana", PASSWORD, totp=code)).status_code == 200
        # Within its window the same code is refused the second time.
        assert (await _login(fresh, "ana", PASSWORD, totp=code)).status_code == 401
        wrong_password = await _login(fresh, "ana", WRONG, totp=code)
        assert wrong_password.json()["detail"]["code"] == "invalid_credentials"

    refused = await client.request("DELETE", "/api/auth/totp", json={"password": WRONG})
    assert refused.status_code == 401
    removed = await client.request("DELETE", "/api/auth/totp", json={"password": PASSWORD})
    assert removed.status_code == 200
    assert removed.json()["totp"] is False
    async with haven.client() as fresh:
        assert (await _login(fresh, "ana", PASSWORD)).status_code == 200


# --- invitations ------------------------------------------------------------------------------


async def test_invite_is_admin_only_single_use_and_expires(haven: Haven) -> None:
    await haven.add_facilitator("root", admin=True)
    await haven.add_facilitator("ben")
    async with (
        haven.logged_in("root") as admin,
        haven.logged_in("ben") as plain,
        haven.client() as anonymous,
    ):
        assert (await plain.post("/api/auth/invites", json={})).status_code == 403
        assert (await anonymous.post("/api/auth/invites", json={})).status_code == 401

        created = await admin.post("/api/auth/invites", json={})
        assert created.status_code == 201
        url = created.json()["url"]
        assert url.startswith(f"{haven.url}/console/invite#")
        token = url.rsplit("#", 1)[1]
        expires = created.json()["expires_at"]
        assert expires.startswith((haven.clock.now + timedelta(hours=72)).date().isoformat())

        account = {"username": "Cleo", "display_name": "Cleo", "password": "short"}
        weak = await anonymous.post("/api/auth/invites/accept", json={**account, "token": token})
        assert weak.status_code == 422
        account["password"] = "a long enough password"
        accepted = await anonymous.post(
            "/api/auth/invites/accept", json={**account, "token": token}
        )
        assert accepted.status_code == 201
        assert accepted.json()["username"] == "cleo"
        assert accepted.json()["is_admin"] is False
        again = await anonymous.post(
            "/api/auth/invites/accept",
            json={**account, "username": "cleo2", "token": token},
        )
        assert again.status_code == 404
        assert (await _login(anonymous, "cleo", "a long enough password")).status_code == 200

        # An unused invite stops working after 72 hours.
        late = (await admin.post("/api/auth/invites", json={})).json()["url"].rsplit("#", 1)[1]
        haven.clock.advance(hours=72)
        expired = await anonymous.post(
            "/api/auth/invites/accept",
            json={**account, "username": "dan", "token": late},
        )
        assert expired.status_code == 404


async def test_a_taken_username_leaves_the_invite_usable(haven: Haven) -> None:
    await haven.add_facilitator("root", admin=True)
    async with haven.logged_in("root") as admin, haven.client() as anonymous:
        token = (await admin.post("/api/auth/invites", json={})).json()["url"].split("#")[1]
        account = {"username": "root", "display_name": "R", "password": "a long enough password"}
        taken = await anonymous.post("/api/auth/invites/accept", json={**account, "token": token})
        assert taken.status_code == 409
        account["username"] = "rae"
        ok = await anonymous.post("/api/auth/invites/accept", json={**account, "token": token})
        assert ok.status_code == 201


async def test_recovering_an_admin_account_voids_the_invites_it_made(haven: Haven) -> None:
    """An invite made with a stolen admin session must not outlive ``passwd`` or ``disable``:
    its thief would come back with a new account of their own."""
    root = await haven.add_facilitator("root", admin=True)
    account = {"username": "cleo", "display_name": "Cleo", "password": "a long enough password"}
    async with haven.logged_in("root") as admin, haven.client() as anonymous:
        first = (await admin.post("/api/auth/invites", json={})).json()["url"].split("#")[1]
        async with haven.server.app.state.sessionmaker() as db:
            found = await auth_service.find_by_username(db, "root")
            assert found is not None and found.id == root
            await auth_service.reset_password(db, found, "another long enough password")
            await db.commit()
        voided = await anonymous.post("/api/auth/invites/accept", json={**account, "token": first})
        assert voided.status_code == 404
    async with haven.server.app.state.sessionmaker() as db:
        second = (await auth_service.create_invite(db, root, haven.clock.now)).token
        found = await auth_service.find_by_username(db, "root")
        assert found is not None
        # Disabled some other way than through the service (a direct edit): still refused.
        found.disabled = True
        await db.commit()
    async with haven.client() as anonymous:
        refused = await anonymous.post(
            "/api/auth/invites/accept", json={**account, "token": second}
        )
        assert refused.status_code == 404
        assert (await _login(anonymous, "cleo", "a long enough password")).status_code == 401


# --- nothing secret leaks ---------------------------------------------------------------------


async def test_passwords_and_tokens_never_reach_logs_or_responses(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    secrets_seen: list[str] = []
    bodies: list[str] = []
    admin_password = "canary-admin-password-7f3a"
    invited_password = "canary-invited-password-91bc"
    wrong_password = "canary-wrong-password-55de"
    async with haven_server(settings, log_stream=stream) as haven:
        await haven.add_facilitator("root", password=admin_password, admin=True)
        async with haven.client() as client:
            for response in (
                await _login(client, "root", wrong_password),
                await _login(client, "nobody", wrong_password),
                await _login(client, "root", admin_password),
            ):
                bodies.append(response.text)
            token = response.json()["token"]
            invite = await client.post("/api/auth/invites", json={})
            bodies.append(invite.text)
            invite_token = invite.json()["url"].split("#")[1]
            accepted = await client.post(
                "/api/auth/invites/accept",
                json={
                    "token": invite_token,
                    "username": "cleo",
                    "display_name": "Cleo",
                    "password": invited_password,
                },
            )
            bodies.append(accepted.text)
            bodies.append((await client.get("/api/auth/me")).text)
            secrets_seen += [token, invite_token]
        async with haven.server.app.state.sessionmaker() as db:
            hashes = list((await db.execute(select(Facilitator.password_hash))).scalars())

    # Every record the server side produced; httpx's own lines are this test's client talking.
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logs = "\n".join(r.getMessage() + repr(r.__dict__) for r in server_records)
    json_lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    logs += "\n".join(
        json.dumps(line) for line in json_lines if not line["logger"].startswith(("httpx", "httpc"))
    )
    assert "POST /api/auth/login" in logs  # the access log did run
    for secret in (admin_password, invited_password, wrong_password, *secrets_seen):
        assert secret not in logs
    for body in bodies:
        for secret in (admin_password, invited_password, wrong_password, *hashes):
            assert secret not in body
        assert '"password' not in body and "argon2" not in body  # no such key, no hash
    assert all(h.startswith("$argon2id$") for h in hashes)
