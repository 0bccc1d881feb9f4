"""Wire models of the facilitator account API.

Rows (``app.auth.models``) never go on the wire: ``FacilitatorPublic`` names the fields a
response may carry, so a new column (or the password hash) cannot leak by accident. Request
bodies derive from ``InputModel``: text UTF-8 cannot encode is a 422 before argon2 runs.
"""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.api.validation import InputModel
from app.auth.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,31}$"


def normalise_username(value: object) -> object:
    """Usernames are case-insensitive: stored and compared stripped and lower-case."""
    return value.strip().lower() if isinstance(value, str) else value


Username = Annotated[
    str, BeforeValidator(normalise_username), StringConstraints(pattern=USERNAME_PATTERN)
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
NewPassword = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD_CHARS, max_length=MAX_PASSWORD_CHARS)
]
# Login accepts any length up to the cap: an old short password must still get a clean 401.
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_CHARS)]
TotpCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]


class LoginRequest(InputModel):
    model_config = ConfigDict(extra="forbid")
    # Not the Username type: a malformed name must fail like a wrong password (401), not 422,
    # so the response does not hint at which names could exist.
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: AnyPassword
    totp: Annotated[str, StringConstraints(max_length=16)] | None = None


class FacilitatorPublic(BaseModel):
    id: str
    username: str
    display_name: str
    is_admin: bool
    totp: bool = Field(description="whether a second factor is enrolled")


class LoginResponse(BaseModel):
    token: str = Field(description="session token, also set as the haven_session cookie")
    expires_at: datetime
    facilitator: FacilitatorPublic


class TotpEnrollment(BaseModel):
    secret: str
    uri: str = Field(description="otpauth:// URI for an authenticator app (QR code)")


class TotpConfirm(InputModel):
    model_config = ConfigDict(extra="forbid")
    code: TotpCode
    # Turning the second factor on asks for the password as well: a stolen session alone
    # must not be able to lock the account's owner out.
    password: AnyPassword


class TotpDisable(InputModel):
    model_config = ConfigDict(extra="forbid")
    # Removing the second factor asks for the password again: a stolen session alone must
    # not be able to weaken the account.
    password: AnyPassword


class InviteCreated(BaseModel):
    url: str
    expires_at: datetime


class InviteAccept(InputModel):
    model_config = ConfigDict(extra="forbid")
    # In the body, never the path: a reverse proxy's access log records paths.
    token: Annotated[str, Field(min_length=16, max_length=128)]
    username: Username
    display_name: DisplayName
    password: NewPassword
