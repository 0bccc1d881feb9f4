"""Optional TOTP second factor (RFC 6238, 30 s steps, 6 digits) with pyotp.

Contract:
- ``new_enrollment`` returns a fresh base32 secret and its ``otpauth://`` URI (for a QR code).
- ``accepted_step`` returns the time step a code matched (current step, or one step either side
  to tolerate clock drift), or None. The caller stores that step and passes it back as
  ``last_step`` next time: a code whose step is not newer than the last accepted one is refused,
  so an observed code cannot be replayed within its window.
"""

from dataclasses import dataclass
from datetime import datetime

import pyotp
from pyotp.exceptions import OTPVerificationError

ISSUER = "Haven"
# One step either side: a phone whose clock is up to ~30 s off still works.
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str


def new_enrollment(username: str, issuer: str = ISSUER) -> Enrollment:
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    return Enrollment(secret=secret, uri=uri)


def accepted_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """Return the time step ``code`` is valid for at ``at``, or None if invalid or replayed."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    try:
        # pyotp compares in constant time and reports which step matched.
        step = pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=at, valid_window=VALID_WINDOW
        )
    except OTPVerificationError:
        return None
    if last_step is not None and step <= last_step:
        return None
    return step


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app would show at ``at`` (tests and the CLI use it)."""
    return pyotp.TOTP(secret).at(at)
