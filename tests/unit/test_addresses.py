"""Per-address limits must not be dodged by hopping addresses inside one IPv6 /64."""

import pytest

from app.addresses import address_bucket
from app.auth.throttle import LoginThrottle


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "?"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_bucketed(address: str | None, bucket: str) -> None:
    assert address_bucket(address) == bucket


def test_login_throttle_counts_a_whole_ipv6_prefix_as_one_address() -> None:
    throttle = LoginThrottle(per_account="100/minute", per_address="3/minute")
    for i in range(3):
        throttle.fail(f"user{i}", f"2001:db8:7:7::{i + 1}")
    assert throttle.retry_after("someone-else", "2001:db8:7:7:dead:beef::9") is not None
    assert throttle.retry_after("someone-else", "2001:db8:7:8::1") is None
