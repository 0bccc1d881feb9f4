"""HTTP endpoints of facilitator accounts, under ``/api/auth``.

Thin: parse, call ``app.auth.service``, commit, translate ``AuthError`` to HTTP. Every
mutating endpoint requires a JSON body (``JsonBody``; the CSRF defence, see
``app.auth.sessions``). Responses carry ``FacilitatorPublic``, never a row.
"""

from collections.abc import Awaitable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service, sessions
from app.auth.dependencies import (
    JSON_REQUIRED,
    AdminFacilitator,
    ClockDep,
    CurrentFacilitator,
    JsonBody,
    ReauthThrottleDep,
    SessionDep,
    ThrottleDep,
    http_error,
)
from app.auth.exceptions import AuthError, Throttled
from app.auth.models import Facilitator
from app.auth.schemas import (
    FacilitatorPublic,
    InviteAccept,
    InviteCreated,
    LoginRequest,
    LoginResponse,
    TotpConfirm,
    TotpDisable,
    TotpEnrollment,
)
from app.auth.throttle import LoginThrottle

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not logged in, or wrong credentials"},
    429: {"description": "too many failed logins (see Retry-After)"},
}
_NOT_LOGGED_IN: dict[int | str, dict[str, Any]] = {401: {"description": "not logged in"}}
_TOTP_STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "a second factor is already enabled, or no enrolment was started"}
}


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.behind_tls)


def base_url(request: Request) -> str:
    """The site's public URL for printed links: the configured one, else this request's."""
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


@router.post(
    "/login",
    response_model=LoginResponse,
    dependencies=[JsonBody],
    responses={**_ERRORS, **JSON_REQUIRED},
    summary="Log in; sets the haven_session cookie and returns the token for API clients",
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: SessionDep,
    clock: ClockDep,
    throttle: ThrottleDep,
) -> LoginResponse:
    now = clock()
    # The address is only a throttle key (hashed, in memory); it is never logged or stored.
    address = request.client.host if request.client else None
    try:
        result = await service.login(
            db,
            throttle,
            body.username,
            body.password,
            body.totp,
            address,
            now,
            request.app.state.settings.session_ttl_s,
            replaced_token=sessions.presented_token(request),
        )
    except Throttled as exc:
        await db.rollback()
        raise http_error(exc, headers={"Retry-After": str(exc.retry_after_s)}) from None
    except AuthError as exc:
        # A failed TOTP attempt may have nothing to keep; a rehash never happens on failure.
        await db.rollback()
        raise http_error(exc) from None
    await db.commit()
    sessions.set_cookie(response, result.session, _secure(request), now)
    return LoginResponse(
        token=result.session.token,
        expires_at=result.session.expires_at,
        facilitator=service.public(result.facilitator),
    )


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[JsonBody],
    responses=JSON_REQUIRED,
    summary="End this session (the token stops working at once)",
)
async def logout(request: Request, db: SessionDep) -> Response:
    token = sessions.presented_token(request)
    if token is not None:
        await sessions.revoke(db, token)
        await db.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    sessions.clear_cookie(response, _secure(request))
    return response


@router.get("/me", response_model=FacilitatorPublic, responses={401: _ERRORS[401]})
async def me(facilitator: CurrentFacilitator) -> FacilitatorPublic:
    return service.public(facilitator)


@router.post(
    "/totp/enroll",
    response_model=TotpEnrollment,
    dependencies=[JsonBody],
    responses={**_NOT_LOGGED_IN, **_TOTP_STATE, **JSON_REQUIRED},
    summary="Start enrolling an authenticator app; confirm with a code to activate it",
)
async def totp_enroll(facilitator: CurrentFacilitator, db: SessionDep) -> TotpEnrollment:
    try:
        enrollment = service.enroll_totp(facilitator)
    except AuthError as exc:
        raise http_error(exc) from None
    await db.commit()
    return TotpEnrollment(secret=enrollment.secret, uri=enrollment.uri)


@router.post(
    "/totp/confirm",
    response_model=FacilitatorPublic,
    dependencies=[JsonBody],
    responses={**_ERRORS, **_TOTP_STATE, **JSON_REQUIRED},
)
async def totp_confirm(
    body: TotpConfirm,
    request: Request,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    clock: ClockDep,
    throttle: ReauthThrottleDep,
) -> FacilitatorPublic:
    work = service.confirm_totp(db, facilitator, body.code, body.password, clock())
    await _reauthenticated(request, facilitator, db, throttle, work)
    return service.public(facilitator)


@router.delete(
    "/totp",
    response_model=FacilitatorPublic,
    responses={**_ERRORS, 400: JSON_REQUIRED[400]},
    summary="Remove the second factor (asks for the password again)",
)
async def totp_disable(
    body: TotpDisable,
    request: Request,
    facilitator: CurrentFacilitator,
    db: SessionDep,
    throttle: ReauthThrottleDep,
) -> FacilitatorPublic:
    work = service.disable_totp(db, facilitator, body.password)
    await _reauthenticated(request, facilitator, db, throttle, work)
    return service.public(facilitator)


async def _reauthenticated(
    request: Request,
    facilitator: Facilitator,
    db: AsyncSession,
    throttle: LoginThrottle,
    work: Coroutine[Any, Any, None],
) -> None:
    """Run ``work``, which checks the account's password again, throttled like a login:
    otherwise a stolen session could guess the password there, at argon2's cost to us,
    without limit."""
    address = request.client.host if request.client else None
    username = facilitator.username  # read now: a failed attempt rolls back and expires it
    try:
        with throttle.attempt(username, address):
            try:
                await _run(db, work)
            except HTTPException:
                throttle.fail(username, address)
                raise
    except Throttled as exc:
        work.close()  # never started when the throttle refused
        headers = {"Retry-After": str(exc.retry_after_s)}
        raise http_error(exc, headers=headers) from None


@router.post(
    "/invites",
    response_model=InviteCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[JsonBody],
    responses={**_NOT_LOGGED_IN, 403: {"description": "administrators only"}, **JSON_REQUIRED},
    summary="Create a single-use, 72-hour link that lets a new facilitator set a password",
)
async def create_invite(
    request: Request, admin: AdminFacilitator, db: SessionDep, clock: ClockDep
) -> InviteCreated:
    invite = await service.create_invite(db, admin.id, clock())
    await db.commit()
    return InviteCreated(
        url=service.invite_url(base_url(request), invite.token), expires_at=invite.expires_at
    )


@router.post(
    "/invites/accept",
    response_model=FacilitatorPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[JsonBody],
    responses={
        404: {"description": "unknown, expired or already used invite"},
        409: {"description": "the username is taken"},
        422: {"description": "invalid username or display name, or a weak password"},
        **JSON_REQUIRED,
    },
    summary="Use an invite once: create the account (then log in)",
)
async def accept_invite(
    body: InviteAccept,
    db: SessionDep,
    clock: ClockDep,
) -> FacilitatorPublic:
    try:
        facilitator: Facilitator = await service.accept_invite(
            db, body.token, body.username, body.display_name, body.password, clock()
        )
    except AuthError as exc:
        await db.rollback()
        raise http_error(exc) from None
    await db.commit()
    return service.public(facilitator)


async def _run(db: AsyncSession, operation: Awaitable[None]) -> None:
    """Await a service call, commit on success, roll back and translate an AuthError."""
    try:
        await operation
    except AuthError as exc:
        await db.rollback()
        raise http_error(exc) from None
    await db.commit()
