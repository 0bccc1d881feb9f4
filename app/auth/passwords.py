"""Password (and meeting passcode) hashing with argon2id.

Contract:
- ``hash_password`` returns an argon2id PHC string; the plain text is never stored or logged.
- ``verify_password`` never raises for a wrong or malformed hash: it returns a ``Verification``.
  When there is no stored hash (unknown username) it still runs one full argon2 verification
  against a dummy hash, so the response time does not tell an attacker which usernames exist.
- Both functions are CPU-bound (tens of milliseconds by design); call them from a worker
  thread (``starlette.concurrency.run_in_threadpool``) inside async code.
"""

import contextlib
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 12
# An upper bound keeps one request from making argon2 hash megabytes of input.
MAX_PASSWORD_CHARS = 1024

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" profile (t=3, m=64 MiB,
# p=4): strong enough for a handful of facilitators, cheap enough for a small VPS.
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Verification:
    ok: bool
    # A fresh hash to store when the stored one used weaker parameters (None otherwise).
    rehash: str | None = None


@cache
def _dummy_hash() -> str:
    # Computed on first use, not at import time, so importing this module stays cheap.
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> Verification:
    """Check ``password`` against ``stored_hash``; a missing hash costs the same as a real one."""
    if stored_hash is None:
        # The dummy never matches; it only spends the time a real check would.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        return Verification(ok=False)
    try:
        _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verification(ok=False)
    rehash = _hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None
    return Verification(ok=True, rehash=rehash)


def password_problem(password: str) -> str | None:
    """Return why ``password`` is unacceptable as a new password, or None when it is fine."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password must be at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"password must be at most {MAX_PASSWORD_CHARS} characters"
    return None
