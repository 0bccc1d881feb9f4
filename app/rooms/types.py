"""The vocabulary of a meeting room, in one place.

Ids are plain strings on the wire; ``NewType`` keeps them apart in the code so that a member id
is never passed where a meeting id is expected.
"""

from typing import Literal, NewType

MeetingId = NewType("MeetingId", str)
"""A meeting's public, unguessable slug (the link is the secret for unlisted meetings)."""

MemberId = NewType("MemberId", str)
"""A random id for one member in one meeting occurrence; it identifies nobody elsewhere."""

HoldId = NewType("HoldId", str)
"""A message held for facilitator review."""

Seq = NewType("Seq", int)
"""Position of an event in a room's log: gapless, starting at 1."""

Millis = NewType("Millis", int)
"""Wall-clock time in milliseconds since the Unix epoch, stamped by the log's writer."""

Role = Literal["host", "cofac", "member"]
Phase = Literal["waiting", "live", "ended"]
Reaction = Literal["heart", "clap", "hug", "thanks", "strength"]
LeaveReason = Literal[
    "left", "removed", "banned", "denied", "timeout", "ended", "revoked", "replaced"
]
ChatMode = Literal["open", "facilitators"]

MAX_TEXT_CHARS = 2000
"""The longest chat message the protocol carries (``HAVEN_MAX_TEXT_CHARS`` may lower it)."""
MAX_CAPACITY = 500
"""The most seats a meeting may have (``HAVEN_ROOM_CAPACITY_DEFAULT`` stays within it)."""


def worker_of(conn: str | None) -> str | None:
    """The worker that holds connection ``conn``: its ids are ``<worker>.<random>``
    (``app.rooms.endpoint.Session``). None for an id without one, which no worker claims."""
    if conn is None:
        return None
    worker, dot, _ = conn.partition(".")
    return worker if dot else None


FACILITATOR_ROLES: frozenset[str] = frozenset({"host", "cofac"})
REACTIONS: tuple[Reaction, ...] = ("heart", "clap", "hug", "thanks", "strength")
