"""Room events: the facts a meeting's log is made of.

Every change to a meeting is one of these frozen records, appended to the room log with a
``seq`` and a time. They are internal: :mod:`app.rooms.codec` decides which fields reach the
wire (a join's device hash never does) and who receives each event (its :class:`Audience`).

The audience is chosen where the event is generated (in :mod:`app.rooms.decide`), never by the
code that delivers it, so one place answers "who can see this?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.rooms.types import HoldId, LeaveReason, MemberId, Phase, Reaction, Role, Seq


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives an event.

    ``room``: every admitted member (facilitators included); ``lobby``: members waiting in the
    lobby; ``fac``: facilitators (host and co-facilitators); ``member``: one more member.
    """

    room: bool = False
    lobby: bool = False
    fac: bool = False
    member: MemberId | None = None

    def code(self) -> str:
        """Compact form for the stored record (``r``, ``l``, ``f`` flags, then ``:member``)."""
        flags = ("r" if self.room else "") + ("l" if self.lobby else "") + ("f" if self.fac else "")
        return f"{flags}:{self.member}" if self.member else flags

    @classmethod
    def from_code(cls, code: str) -> Audience:
        flags, _, member = code.partition(":")
        return cls(
            room="r" in flags,
            lobby="l" in flags,
            fac="f" in flags,
            member=MemberId(member) if member else None,
        )


ROOM = Audience(room=True)
FAC = Audience(fac=True)
ROOM_AND_LOBBY = Audience(room=True, lobby=True)


def to_member(member: MemberId, *, fac: bool = False) -> Audience:
    return Audience(fac=fac, member=member)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every room event. ``T`` is the stable type tag used on the wire and in logs."""

    T: ClassVar[str] = ""
    WIRE: ClassVar[tuple[str, ...]] = ()
    """Fields sent to clients, in this order; the others stay inside the server."""
    aud: Audience = ROOM


@dataclass(frozen=True, slots=True, kw_only=True)
class Joined(Event):
    T: ClassVar[str] = "join"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "n", "r", "lob")
    m: MemberId
    n: str
    r: Role
    lob: bool
    conn: str
    joined_at: int
    key: str = ""
    """The name's comparison form (see :func:`app.rooms.state.name_key`)."""
    device: str | None = None
    account: str | None = None
    grant: str | None = None
    entered: int | None = None
    """For the same browser back under its name (it replaces its old member): when that one
    came into the room, so that an attendance slip keeps counting from then."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Admitted(Event):
    T: ClassVar[str] = "admit"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "n")
    m: MemberId
    n: str = ""
    """The name: members learn it here, as they never saw the lobby's ``join``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentToLobby(Event):
    T: ClassVar[str] = "to_lobby"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId


@dataclass(frozen=True, slots=True, kw_only=True)
class Left(Event):
    T: ClassVar[str] = "leave"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "why")
    m: MemberId
    why: LeaveReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Away(Event):
    """The member's connection ``conn`` dropped; they may resume within the window."""

    T: ClassVar[str] = "away"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId
    conn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Back(Event):
    """The member resumed on connection ``conn``; any other connection of theirs is stale."""

    T: ClassVar[str] = "back"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId
    conn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Said(Event):
    T: ClassVar[str] = "msg"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "n", "x", "cid", "red")
    m: MemberId
    n: str
    x: str
    cid: str
    red: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateSaid(Event):
    """A private message in member ``m``'s thread with the facilitators, written by ``w``
    (``m`` themselves, or a facilitator, named ``n``). Told to ``m`` and to every
    facilitator."""

    T: ClassVar[str] = "dm"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "w", "n", "x", "cid", "red")
    m: MemberId
    w: MemberId
    n: str
    x: str
    cid: str
    red: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Reacted(Event):
    T: ClassVar[str] = "react"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "to", "r")
    m: MemberId
    to: Seq
    r: Reaction


@dataclass(frozen=True, slots=True, kw_only=True)
class HandChanged(Event):
    T: ClassVar[str] = "hand"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "up")
    m: MemberId
    up: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorChanged(Event):
    """The floor (the right to share) went to ``m`` until ``until``, or was released."""

    T: ClassVar[str] = "floor"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "n", "until")
    m: MemberId | None
    n: str | None
    until: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorWarned(Event):
    T: ClassVar[str] = "floor_warn"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorTimeUp(Event):
    T: ClassVar[str] = "floor_time"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId


@dataclass(frozen=True, slots=True, kw_only=True)
class Muted(Event):
    T: ClassVar[str] = "mute"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "on")
    m: MemberId
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MutedAll(Event):
    T: ClassVar[str] = "mute_all"
    WIRE: ClassVar[tuple[str, ...]] = ("on",)
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChanged(Event):
    T: ClassVar[str] = "role"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "r")
    m: MemberId
    r: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class Locked(Event):
    T: ClassVar[str] = "lock"
    WIRE: ClassVar[tuple[str, ...]] = ("on",)
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SlowMode(Event):
    T: ClassVar[str] = "slow"
    WIRE: ClassVar[tuple[str, ...]] = ("secs",)
    secs: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pinned(Event):
    T: ClassVar[str] = "pin"
    WIRE: ClassVar[tuple[str, ...]] = ("i",)
    i: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseChanged(Event):
    T: ClassVar[str] = "phase"
    WIRE: ClassVar[tuple[str, ...]] = ("p",)
    p: Phase


@dataclass(frozen=True, slots=True, kw_only=True)
class LobbySaid(Event):
    T: ClassVar[str] = "lobby_msg"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "n", "x")
    m: MemberId
    x: str
    n: str = ""
    """The facilitator's display name: people in the lobby have not seen the room's list."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Held(Event):
    """A message waiting for a facilitator's decision; its text lives only in memory."""

    T: ClassVar[str] = "held"
    WIRE: ClassVar[tuple[str, ...]] = ("h", "m", "n", "x", "why")
    h: HoldId
    m: MemberId
    n: str
    x: str
    cid: str
    why: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldResolved(Event):
    T: ClassVar[str] = "hold_done"
    WIRE: ClassVar[tuple[str, ...]] = ("h", "ok", "cid")
    h: HoldId
    ok: bool
    cid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reported(Event):
    T: ClassVar[str] = "report"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "to", "why")
    m: MemberId
    to: Seq | None
    why: str
    by: MemberId


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocked(Event):
    T: ClassVar[str] = "block"
    WIRE: ClassVar[tuple[str, ...]] = ("m", "on")
    by: MemberId
    m: MemberId
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Counted(Event):
    """How many members are in the room, for rooms whose member list is hidden."""

    T: ClassVar[str] = "count"
    WIRE: ClassVar[tuple[str, ...]] = ("c",)
    c: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Trusted(Event):
    T: ClassVar[str] = "trust"
    WIRE: ClassVar[tuple[str, ...]] = ("m",)
    m: MemberId


@dataclass(frozen=True, slots=True, kw_only=True)
class CareOffered(Event):
    """Crisis resources, privately to the member whose message raised concern."""

    T: ClassVar[str] = "care"
    WIRE: ClassVar[tuple[str, ...]] = ("card",)
    m: MemberId
    card: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alerted(Event):
    """A private alert to facilitators: which member, which event, a suggested response."""

    T: ClassVar[str] = "alert"
    WIRE: ClassVar[tuple[str, ...]] = ("kind", "m", "n", "cid", "hint")
    kind: str
    m: MemberId
    n: str
    cid: str
    hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Noticed(Event):
    """A private notice to one member (held for review, rejected, muted, ...)."""

    T: ClassVar[str] = "notice"
    WIRE: ClassVar[tuple[str, ...]] = ("code", "cid")
    m: MemberId
    code: str
    cid: str | None = None


RoomEvent = (
    Joined
    | Admitted
    | SentToLobby
    | Left
    | Away
    | Back
    | Said
    | PrivateSaid
    | Reacted
    | HandChanged
    | FloorChanged
    | FloorWarned
    | FloorTimeUp
    | Muted
    | MutedAll
    | RoleChanged
    | Locked
    | SlowMode
    | Pinned
    | PhaseChanged
    | LobbySaid
    | Held
    | HoldResolved
    | Reported
    | Blocked
    | Counted
    | Trusted
    | CareOffered
    | Alerted
    | Noticed
)
"""Every concrete event; matching on it lets mypy name a forgotten branch."""

EVENT_TYPES: tuple[type[Event], ...] = (
    Joined,
    Admitted,
    SentToLobby,
    Left,
    Away,
    Back,
    Said,
    PrivateSaid,
    Reacted,
    HandChanged,
    FloorChanged,
    FloorWarned,
    FloorTimeUp,
    Muted,
    MutedAll,
    RoleChanged,
    Locked,
    SlowMode,
    Pinned,
    PhaseChanged,
    LobbySaid,
    Held,
    HoldResolved,
    Reported,
    Blocked,
    Counted,
    Trusted,
    CareOffered,
    Alerted,
    Noticed,
)
BY_TAG: dict[str, type[Event]] = {cls.T: cls for cls in EVENT_TYPES}


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as the log holds it: its place in the order and when it was appended."""

    seq: Seq
    at: int
    event: RoomEvent
