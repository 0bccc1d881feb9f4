"""Generated bench members must all be able to join one room (no look-alike names)."""

from app.moderation.stages.impersonation import skeleton
from bench.targets import member_name


def test_generated_member_names_never_look_alike() -> None:
    for prefix in ("m0-", "m3-", "m12-", "g4711-"):
        names = [member_name(prefix, i) for i in range(12_000)]
        assert len({skeleton(n) for n in names}) == len(names)
