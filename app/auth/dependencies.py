"""FastAPI dependencies of the account and meeting APIs, as ``Annotated`` aliases.

- ``SessionDep``: one database ``AsyncSession`` per request (never shared between tasks); it
  rolls back whatever the handler did not commit.
- ``ClockDep``: the current time. Real UTC time unless ``app.state.clock`` holds another
  zero-argument callable (tests travel in time with it; nothing else should set it).
- ``ThrottleDep``: the process-wide ``LoginThrottle`` on ``app.state.login_throttle``, made on
  first use with the default limits when the app did not install one. ``ReauthThrottleDep``:
  the same for password re-checks by a logged-in session, on ``app.state.reauth_throttle``.
- ``OptionalFacilitator`` / ``CurrentFacilitator`` / ``AdminFacilitator``: the facilitator of
  the presented session (None / 401 / 401 or 403).
- ``JsonBody``: refuse a mutating request whose body is not declared as JSON (415); with the
  SameSite=Strict cookie this is Haven's CSRF defence (see ``app.auth.sessions``).

Dependencies that do not wait for anything are still ``async def``: FastAPI runs a plain
``def`` dependency in a worker thread, one thread round trip per request (measured: ~4% of a
join burst's server time for ``get_clock`` alone, which every ticket request resolves).
"""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import sessions
from app.auth.exceptions import AuthError, NotAuthenticated, NotPermitted
from app.auth.models import Facilitator
from app.auth.throttle import LoginThrottle

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def http_error(error: AuthError, headers: dict[str, str] | None = None) -> HTTPException:
    """Translate a domain error into the API's error shape ``{"detail": {code, message}}``."""
    return HTTPException(
        status_code=error.status,
        detail={"code": error.code, "message": str(error)},
        headers=headers,
    )


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with sessionmaker_of(request)() as db:
        yield db


async def get_clock(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", system_clock)
    return clock


async def get_throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = state.login_throttle = LoginThrottle()
    return throttle


async def get_reauth_throttle(request: Request) -> LoginThrottle:
    """Failed password re-checks by a logged-in session (removing the second factor), counted
    apart from logins: someone else's failed logins must not lock the owner out of this."""
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "reauth_throttle", None)
    if throttle is None:
        throttle = state.reauth_throttle = LoginThrottle()
    return throttle


SessionDep = Annotated[AsyncSession, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
ReauthThrottleDep = Annotated[LoginThrottle, Depends(get_reauth_throttle)]


async def optional_facilitator(
    request: Request, db: SessionDep, clock: ClockDep
) -> Facilitator | None:
    token = sessions.presented_token(request)
    if token is None:
        return None
    return await sessions.resolve(db, token, clock())


OptionalFacilitator = Annotated[Facilitator | None, Depends(optional_facilitator)]


async def current_facilitator(facilitator: OptionalFacilitator) -> Facilitator:
    if facilitator is None:
        raise http_error(NotAuthenticated(), headers={"WWW-Authenticate": "Bearer"})
    return facilitator


CurrentFacilitator = Annotated[Facilitator, Depends(current_facilitator)]


async def admin_facilitator(facilitator: CurrentFacilitator) -> Facilitator:
    if not facilitator.is_admin:
        raise http_error(NotPermitted("administrators only"))
    return facilitator


AdminFacilitator = Annotated[Facilitator, Depends(admin_facilitator)]


async def json_body(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        # DELETE cannot be sent by a cross-site form, and cross-site fetch needs a preflight.
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(
            status_code=415,
            detail={"code": "json_required", "message": "send Content-Type: application/json"},
        )


JsonBody = Depends(json_body)
# What every route with ``JsonBody`` declares in its ``responses=`` (the OpenAPI document).
JSON_REQUIRED: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not UTF-8 JSON"},
    415: {"description": "the body was not sent as Content-Type: application/json"},
}
