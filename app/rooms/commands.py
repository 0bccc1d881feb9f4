"""Commands that do not come from a client frame as such.

The endpoint turns a verified ticket into :class:`Join`, a dropped socket into
:class:`Disconnect`, a screened ``say`` frame into :class:`Post`; the room's timer sends
:class:`Tick`. Ids, names and verdicts enter the pure core here, as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.rooms.types import HoldId, MemberId, Role


@dataclass(frozen=True, slots=True)
class Join:
    member: MemberId
    name: str
    key: str
    role: Role
    conn: str
    device: str | None = None
    account: str | None = None
    grant: str | None = None


@dataclass(frozen=True, slots=True)
class Reconnect:
    member: MemberId
    conn: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    member: MemberId
    conn: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: share timers and the resume window are checked against ``now``."""


@dataclass(frozen=True, slots=True)
class Post:
    """A chat message that went through the moderation pipeline.

    ``text`` is what the room may see (already redacted when the policy says so).
    ``hold`` asks for facilitator review; ``fallback`` says what happens when no facilitator is
    present to review. ``crisis`` never stops delivery: it adds the care card and the alert.
    """

    cid: str
    text: str
    redacted: bool = False
    hold: bool = False
    hold_id: HoldId | None = None
    why: tuple[str, ...] = ()
    fallback: Literal["allow", "block"] = "allow"
    crisis: str | None = None
    """The crisis kind (e.g. ``"suicide"``), or None."""
    hint: str = ""
    card: dict[str, Any] | None = None
    private: bool = False
    """A private message (``dm``): to the facilitators, or from a facilitator to ``to``. It
    is never held: its readers are the facilitators who would review it."""
    to: MemberId | None = None


@dataclass(frozen=True, slots=True)
class Concern:
    """Crisis care for a message that a ``Post`` did not bring with it.

    Yields exactly what a ``Post`` with ``crisis`` adds to its ``said``: the care card to the
    sender and the alert to the facilitators, for the message ``cid``. Two uses:

    - ``delivered=True``: a crisis found after delivery by the semantic screen
      (``app.moderation.semantic``) in a message the sender already posted; refused with
      ``not_delivered`` while that message is not (or never will be) in the room;
    - ``delivered=False``: a message that will never be in the room (refused because the
      sender is muted, in the lobby, or the chat is closed; blocked by moderation; answered
      with a privacy warning): crisis language is never left without care, whatever happens
      to the message that carried it. Decided for any member, the lobby included.
    """

    cid: str
    crisis: str
    hint: str
    card: dict[str, Any] | None = None
    delivered: bool = True
    name: str = ""
    """The sender's name: if they are no longer in the room (they left right after), the
    facilitators still get the alert, under this name."""
    alert: bool = True
    """False: the card only. For text the facilitators read anyway and whose sender they must
    not learn (a report's reason: reports are anonymous)."""


@dataclass(frozen=True, slots=True)
class LeftTeam:
    """Facilitator accounts taken off the meeting's team (its definition was edited): their
    members in the room become members, as their next ticket would make them."""

    accounts: frozenset[str]


@dataclass(frozen=True, slots=True)
class WorkersGone:
    """Workers that stopped beating (crashed, or shut down) while members were connected
    through them: those members' links are gone with them, as a dropped socket's are, so they
    go away and may resume within the window. Appended by the worker that runs the timers
    (``app.rooms.hub.Workers``)."""

    workers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Revoked:
    """Facilitators whose ticket's account was disabled or had its password reset since
    (``app.rooms.lifespan.watch_accounts``): they leave the room, so whoever held a stolen
    session loses the room with it. The account's owner comes back with a new ticket."""

    members: frozenset[MemberId]


SystemCommand = (
    Join | Reconnect | Disconnect | Tick | Post | Concern | LeftTeam | WorkersGone | Revoked
)
