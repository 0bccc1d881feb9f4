"""Errors of facilitator accounts, raised by the service and translated by the router.

    AuthError
    ├── InvalidCredentials   wrong username, password or TOTP code (one answer for all)  401
    ├── TotpRequired         the password was right; the account needs its code          401
    ├── Throttled            too many failed logins for the account or the address       429
    ├── NotAuthenticated     no session, or an expired or revoked one                    401
    ├── NotPermitted         logged in, but not allowed to do this                       403
    ├── InviteInvalid        unknown, expired or already used invite                      404
    ├── UsernameTaken                                                                    409
    ├── TotpStateError       confirm without enrolment, enrol twice, ...                  409
    └── WeakPassword         fails the password rules                                     422

Each carries a stable ``code`` for clients; messages never include a username, a password or a
token.
"""


class AuthError(Exception):
    code = "auth_error"
    status = 400
    message = "authentication error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class InvalidCredentials(AuthError):
    code = "invalid_credentials"
    status = 401
    message = "wrong username, password or code"


class TotpRequired(AuthError):
    code = "totp_required"
    status = 401
    message = "enter the code from your authenticator app"


class Throttled(AuthError):
    code = "throttled"
    status = 429
    message = "too many failed logins; try again later"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__()
        self.retry_after_s = retry_after_s


class NotAuthenticated(AuthError):
    code = "not_authenticated"
    status = 401
    message = "log in first"


class NotPermitted(AuthError):
    code = "forbidden"
    status = 403
    message = "not allowed"


class InviteInvalid(AuthError):
    code = "invite_invalid"
    status = 404
    message = "this invite link is unknown, expired or already used"


class UsernameTaken(AuthError):
    code = "username_taken"
    status = 409
    message = "this username is taken"


class TotpStateError(AuthError):
    code = "totp_state"
    status = 409


class WeakPassword(AuthError):
    code = "weak_password"
    status = 422
