"""Facilitator login sessions: opaque random tokens, stored only as SHA-256 digests.

Contract:
- ``issue`` creates a new token on every login (a token presented before login is never
  promoted, so there is no session fixation) and stores ``sha256(token)`` with its expiry.
  The token itself exists only in the response; a copy of the database cannot log anyone in.
- ``resolve`` returns the facilitator for a token that exists, has not expired at ``now`` and
  whose account is not disabled; otherwise None. Expired rows are deleted by the purge.
- ``revoke`` deletes one session (logout); ``revoke_all`` every session of an account.
- None of these commit: the caller owns the transaction.

Transport: the ``haven_session`` cookie (HttpOnly, SameSite=Strict, Path=/, Secure behind TLS)
for the browser console, or ``Authorization: Bearer <token>`` for API clients.

Why no CSRF token: the cookie is SameSite=Strict, so browsers do not attach it to requests
started by another site, and every mutating endpoint requires ``Content-Type:
application/json``, which a cross-site HTML form cannot send and cross-site ``fetch`` can only
send after a CORS preflight that Haven never approves. Bearer tokens are not sent
automatically by browsers at all.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.auth.models import Facilitator, FacilitatorSession

COOKIE_NAME = "haven_session"
TOKEN_BYTES = 32


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime


def token_digest(token: str) -> str:
    """SHA-256 hex of a token: what the database stores instead of the token.

    A plain hash (no salt, no argon2) is enough: the token is 256 random bits, not a password.
    """
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(db: AsyncSession, facilitator_id: str, now: datetime, ttl_s: int) -> IssuedSession:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(seconds=ttl_s)
    db.add(
        FacilitatorSession(
            token_hash=token_digest(token),
            facilitator_id=facilitator_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await db.flush()
    return IssuedSession(token=token, expires_at=expires_at)


async def resolve(db: AsyncSession, token: str, now: datetime) -> Facilitator | None:
    digest = token_digest(token)
    row = (
        await db.execute(
            select(FacilitatorSession, Facilitator)
            .join(Facilitator, Facilitator.id == FacilitatorSession.facilitator_id)
            .where(FacilitatorSession.token_hash == digest)
        )
    ).one_or_none()
    if row is None:
        return None
    stored, facilitator = row
    # An expired row is left for the purge: resolving stays read-only, so a GET never writes.
    if stored.expires_at <= now or facilitator.disabled:
        return None
    return facilitator


async def revoke(db: AsyncSession, token: str) -> None:
    await db.execute(
        delete(FacilitatorSession).where(FacilitatorSession.token_hash == token_digest(token))
    )


async def revoke_all(db: AsyncSession, facilitator_id: str) -> None:
    await db.execute(
        delete(FacilitatorSession).where(FacilitatorSession.facilitator_id == facilitator_id)
    )


def presented_token(connection: HTTPConnection) -> str | None:
    """The session token a request carries: the bearer header wins over the cookie."""
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return connection.cookies.get(COOKIE_NAME) or None


def set_cookie(response: Response, issued: IssuedSession, secure: bool, now: datetime) -> None:
    response.set_cookie(
        COOKIE_NAME,
        issued.token,
        max_age=max(0, int((issued.expires_at - now).total_seconds())),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True, samesite="strict")
