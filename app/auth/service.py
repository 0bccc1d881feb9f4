"""Facilitator accounts: create, log in, second factor, invitations.

Contract of every function here: it takes an open ``AsyncSession`` and the current time as
data (``now``, timezone-aware UTC), raises an ``app.auth.exceptions.AuthError`` for every
expected refusal, and flushes but never commits; the caller (a request handler or a CLI
command) commits on success, and its session rolls back on an exception. Argon2 runs in a
worker thread so a login never stalls the event loop (and the rooms on it).

Nothing here logs: usernames, passwords, tokens and addresses never reach a log line.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.auth import sessions, totp
from app.auth.exceptions import (
    InvalidCredentials,
    InviteInvalid,
    TotpRequired,
    TotpStateError,
    UsernameTaken,
    WeakPassword,
)
from app.auth.models import Facilitator, Invite
from app.auth.passwords import hash_password, password_problem, verify_password
from app.auth.schemas import DisplayName, FacilitatorPublic, Username, normalise_username
from app.auth.throttle import LoginThrottle

INVITE_TTL = timedelta(hours=72)
INVITE_TOKEN_BYTES = 32

_username = TypeAdapter(Username)
_display_name = TypeAdapter(DisplayName)


def public(facilitator: Facilitator) -> FacilitatorPublic:
    """The only shape in which an account leaves the server (never the hash or the secret)."""
    return FacilitatorPublic(
        id=facilitator.id,
        username=facilitator.username,
        display_name=facilitator.display_name,
        is_admin=facilitator.is_admin,
        totp=facilitator.totp_secret is not None,
    )


async def find_by_username(db: AsyncSession, username: str) -> Facilitator | None:
    name = normalise_username(username)
    return (
        await db.execute(select(Facilitator).where(Facilitator.username == name))
    ).scalar_one_or_none()


async def count_facilitators(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Facilitator))).scalar_one()


async def create_facilitator(
    db: AsyncSession,
    username: str,
    display_name: str,
    password: str,
    now: datetime,
    *,
    is_admin: bool = False,
) -> Facilitator:
    """Create an account. Raises WeakPassword, UsernameTaken, or ValueError for a bad name."""
    if problem := password_problem(password):
        raise WeakPassword(problem)
    try:
        name = _username.validate_python(username)
        shown = _display_name.validate_python(display_name)
    except ValidationError as exc:
        raise ValueError(
            "username: 2-32 of a-z 0-9 . _ - (starting with a letter or digit); "
            "display name: 1-40 characters"
        ) from exc
    if await find_by_username(db, name) is not None:
        raise UsernameTaken()
    facilitator = Facilitator(
        username=name,
        display_name=shown,
        password_hash=await run_in_threadpool(hash_password, password),
        is_admin=is_admin,
        disabled=False,
        created_at=now,
    )
    db.add(facilitator)
    try:
        await db.flush()
    except IntegrityError:
        # Two creations raced past the check above; the unique index decided.
        raise UsernameTaken() from None
    return facilitator


async def authenticate(
    db: AsyncSession,
    throttle: LoginThrottle,
    username: str,
    password: str,
    code: str | None,
    address: str | None,
    now: datetime,
) -> Facilitator:
    """Check a login; return the facilitator or raise Throttled, InvalidCredentials or
    TotpRequired.

    Throttling is checked before any hashing. A wrong password, an unknown or disabled
    account, and a wrong TOTP code all count as failures and all give the same error; a right
    password without the code the account needs gives TotpRequired and does not count.
    """
    with throttle.attempt(username, address):
        facilitator = await find_by_username(db, username)
        stored = facilitator.password_hash if facilitator is not None else None
        verification = await run_in_threadpool(verify_password, stored, password)
        if facilitator is None or not verification.ok or facilitator.disabled:
            throttle.fail(username, address)
            raise InvalidCredentials()
        if facilitator.totp_secret is not None:
            if not code:
                raise TotpRequired()
            if not await _accept_totp(db, facilitator, facilitator.totp_secret, code, now):
                throttle.fail(username, address)
                raise InvalidCredentials()
        if verification.rehash is not None:
            facilitator.password_hash = verification.rehash
        throttle.clear(username)
        return facilitator


async def _accept_totp(
    db: AsyncSession, facilitator: Facilitator, secret: str, code: str, now: datetime
) -> bool:
    step = totp.accepted_step(secret, code, now, facilitator.totp_last_step)
    if step is None:
        return False
    # Compare-and-set, so two concurrent logins with one code cannot both succeed.
    result = await db.execute(
        update(Facilitator)
        .where(
            Facilitator.id == facilitator.id,
            or_(Facilitator.totp_last_step.is_(None), Facilitator.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for an UPDATE
        return False
    facilitator.totp_last_step = step
    return True


@dataclass(frozen=True)
class Login:
    facilitator: Facilitator
    session: sessions.IssuedSession


async def login(
    db: AsyncSession,
    throttle: LoginThrottle,
    username: str,
    password: str,
    code: str | None,
    address: str | None,
    now: datetime,
    ttl_s: int,
    replaced_token: str | None = None,
) -> Login:
    """Authenticate and issue a new session; the token presented before login (if any) is
    revoked, so a planted session id can never become an authenticated one."""
    facilitator = await authenticate(db, throttle, username, password, code, address, now)
    if replaced_token is not None:
        await sessions.revoke(db, replaced_token)
    issued = await sessions.issue(db, facilitator.id, now, ttl_s)
    return Login(facilitator=facilitator, session=issued)


# --- second factor ---------------------------------------------------------------------------


def enroll_totp(facilitator: Facilitator) -> totp.Enrollment:
    """Start enrolment: a new pending secret, active only once ``confirm_totp`` succeeds."""
    if facilitator.totp_secret is not None:
        raise TotpStateError("a second factor is already enabled; remove it first")
    enrollment = totp.new_enrollment(facilitator.username)
    facilitator.totp_pending_secret = enrollment.secret
    return enrollment


async def confirm_totp(
    db: AsyncSession, facilitator: Facilitator, code: str, password: str, now: datetime
) -> None:
    pending = facilitator.totp_pending_secret
    if pending is None:
        raise TotpStateError("start enrolment first")
    verification = await run_in_threadpool(verify_password, facilitator.password_hash, password)
    if not verification.ok:
        raise InvalidCredentials()
    step = totp.accepted_step(pending, code, now, None)
    if step is None:
        raise InvalidCredentials()
    facilitator.totp_secret = pending
    facilitator.totp_pending_secret = None
    facilitator.totp_last_step = step
    await db.flush()


async def disable_totp(db: AsyncSession, facilitator: Facilitator, password: str) -> None:
    verification = await run_in_threadpool(verify_password, facilitator.password_hash, password)
    if not verification.ok:
        raise InvalidCredentials()
    facilitator.totp_secret = None
    facilitator.totp_pending_secret = None
    facilitator.totp_last_step = None
    await db.flush()


# --- recovery, from the server's shell (``haven facilitator ...``) ---------------------------


async def reset_password(
    db: AsyncSession, facilitator: Facilitator, password: str, *, clear_totp: bool = False
) -> None:
    """Set a new password and end every session of the account (one left open by whoever
    knew the old password included). ``clear_totp``: also remove the second factor (its owner
    lost it, or someone who held a session turned it on). Raises WeakPassword."""
    if problem := password_problem(password):
        raise WeakPassword(problem)
    facilitator.password_hash = await run_in_threadpool(hash_password, password)
    if clear_totp:
        facilitator.totp_secret = None
        facilitator.totp_pending_secret = None
        facilitator.totp_last_step = None
    await sessions.revoke_all(db, facilitator.id)
    await _drop_open_invites(db, facilitator.id)
    await db.flush()


async def _drop_open_invites(db: AsyncSession, facilitator_id: str) -> None:
    """Unused invitations an account made: recovering the account voids them too (one made
    with a stolen session would otherwise let its thief back in with a new account)."""
    await db.execute(
        delete(Invite).where(Invite.created_by == facilitator_id, Invite.used_at.is_(None))
    )


async def set_disabled(db: AsyncSession, facilitator: Facilitator, disabled: bool) -> None:
    """Turn an account off (it cannot log in, and its sessions end at once) or on again."""
    facilitator.disabled = disabled
    if disabled:
        await sessions.revoke_all(db, facilitator.id)
        await _drop_open_invites(db, facilitator.id)
    await db.flush()


# --- invitations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvite:
    token: str
    expires_at: datetime


async def create_invite(db: AsyncSession, created_by: str, now: datetime) -> IssuedInvite:
    """A single-use invitation valid for 72 hours; only its digest is stored."""
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    expires_at = now + INVITE_TTL
    db.add(
        Invite(
            token_hash=sessions.token_digest(token),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await db.flush()
    return IssuedInvite(token=token, expires_at=expires_at)


async def accept_invite(
    db: AsyncSession,
    token: str,
    username: str,
    display_name: str,
    password: str,
    now: datetime,
) -> Facilitator:
    """Use an invitation once to create an account. Raises InviteInvalid, WeakPassword or
    UsernameTaken; on any of them the caller's rollback leaves the invite unused."""
    if problem := password_problem(password):
        raise WeakPassword(problem)
    # Claim the invite atomically: of two concurrent accepts only one updates the row.
    claimed = await db.execute(
        update(Invite)
        .where(
            Invite.token_hash == sessions.token_digest(token),
            Invite.used_at.is_(None),
            Invite.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for an UPDATE
        raise InviteInvalid()
    # Only an administrator's invitation, and only while they still are one.
    inviter = await db.scalar(
        select(Facilitator)
        .join(Invite, Invite.created_by == Facilitator.id)
        .where(Invite.token_hash == sessions.token_digest(token))
    )
    if inviter is None or inviter.disabled or not inviter.is_admin:
        raise InviteInvalid()
    return await create_facilitator(db, username, display_name, password, now)


def invite_url(base_url: str, token: str) -> str:
    # The token rides in the fragment, which browsers never send to the server, so it cannot
    # land in an access log or a proxy's log when the link is opened.
    return f"{base_url.rstrip('/')}/console/invite#{token}"
