"""Failed-login throttling, per account and per client address, in process memory.

Theory of operation: before a password is even checked, ``LoginThrottle.attempt`` asks
whether the account or the address has used up its failures in the moving window, counting
the checks still running as failures to come; if so the login is refused with 429 and
``Retry-After``, and argon2 never runs (a throttled attacker costs us nothing). The question
and the place it holds are one synchronous step, so a burst of parallel attempts cannot all
pass the check before the first failure is counted. Each failed attempt then ``fail``s both
keys. A success ``clear``s the account key only: an address that failed against many accounts
stays throttled.

Privacy: the client address (an IPv6 one by its /64, see ``app.addresses``) is used only as a
limiter key, and only after a keyed hash with a
per-process random key, so not even this process's memory holds it in clear. It is never
logged or stored. Throttling state is lost on restart and not shared between workers, which is
acceptable: every worker still caps the guess rate, and the cap multiplies only by the number
of workers.
"""

import hashlib
import math
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.addresses import address_bucket
from app.auth.exceptions import Throttled

DEFAULT_PER_ACCOUNT = "5/15 minutes"
DEFAULT_PER_ADDRESS = "20/15 minutes"


class LoginThrottle:
    """Counts failed logins per account and per address; see the module docstring."""

    def __init__(
        self, per_account: str = DEFAULT_PER_ACCOUNT, per_address: str = DEFAULT_PER_ADDRESS
    ) -> None:
        self._per_account: RateLimitItem = parse(per_account)
        self._per_address: RateLimitItem = parse(per_address)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._key = secrets.token_bytes(16)
        self._in_flight: Counter[str] = Counter()
        """Password checks running now, per key (removed at zero)."""

    def _address_key(self, address: str | None) -> str:
        raw = address_bucket(address).encode()
        return hashlib.blake2b(raw, key=self._key, digest_size=16).hexdigest()

    @staticmethod
    def _account_key(username: str) -> str:
        return username.strip().lower()

    def _keys(self, username: str, address: str | None) -> tuple[tuple[RateLimitItem, str], ...]:
        return (
            (self._per_account, self._account_key(username)),
            (self._per_address, self._address_key(address)),
        )

    def retry_after(self, username: str, address: str | None) -> int | None:
        """Seconds until a login for ``username`` from ``address`` may be tried, or None. The
        checks still running count as failures to come."""
        waits: list[float] = []
        for item, key in self._keys(username, address):
            stats = self._limiter.get_window_stats(item, "login", key)
            if stats.remaining - self._in_flight[key] <= 0:
                waits.append(stats.reset_time - time.time())
        if not waits:
            return None
        return max(1, math.ceil(max(waits)))

    @contextmanager
    def attempt(self, username: str, address: str | None) -> Iterator[None]:
        """Check, and hold a place for, one password check (raises ``Throttled``). Call
        ``fail`` inside it when the check fails, ``clear`` when it succeeds."""
        wait = self.retry_after(username, address)
        if wait is not None:
            raise Throttled(wait)
        keys = [key for _, key in self._keys(username, address)]
        for key in keys:
            self._in_flight[key] += 1
        try:
            yield
        finally:
            for key in keys:
                self._in_flight[key] -= 1
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]

    def fail(self, username: str, address: str | None) -> None:
        """Record one failed attempt against both the account and the address."""
        self._limiter.hit(self._per_account, "login", self._account_key(username))
        self._limiter.hit(self._per_address, "login", self._address_key(address))

    def clear(self, username: str) -> None:
        """Forget the account's failures after a successful login."""
        self._limiter.clear(self._per_account, "login", self._account_key(username))
