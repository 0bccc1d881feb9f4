"""Which client addresses count as one, for rate limits and connection caps.

An IPv4 address is one subscriber at most (often many, behind carrier NAT). An IPv6 subscriber
is routinely handed a whole /64 and can pick any address in it, so per-address limits keyed by
the full IPv6 address would be no limit at all: they are keyed by the /64 instead. IPv4-mapped
IPv6 addresses (``::ffff:192.0.2.1``, seen on dual-stack sockets) count as their IPv4 address.

The result is only ever fed to a keyed hash (docs/privacy.md); it is never stored or logged.
"""

import ipaddress

IPV6_PREFIX = 64


def address_bucket(address: str | None) -> str:
    """The limiter identity of a client address: itself for IPv4, its /64 for IPv6."""
    if not address:
        return "?"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # a unix socket path or a test client name: keep it distinct
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
