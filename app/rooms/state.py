"""Room state: what a meeting looks like after folding its log.

Everything here is immutable. The reducer builds a new :class:`RoomState` for every event by
copying what changed (``dataclasses.replace`` and fresh dicts); nobody mutates a state that
another task may still be reading. Message text is not part of the state, except for messages
held for review, which live here (in memory) until a facilitator decides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.rooms.events import Held
from app.rooms.types import (
    FACILITATOR_ROLES,
    ChatMode,
    HoldId,
    MeetingId,
    MemberId,
    Phase,
    Role,
    Seq,
)

RECENT_CIDS = 64
"""Client message ids remembered per member to make retried sends idempotent."""
MAX_HOLDS_PER_MEMBER = 5
"""Messages of one member waiting for review at once; past it, a message to hold is refused."""
MAX_HOLDS = 100
"""Messages waiting for review in one room at once (each keeps its text in memory)."""


def name_key(name: str) -> str:
    """The form under which two pseudonyms count as the same name in one room."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """The meeting definition as the room core needs it (from the database, once per start)."""

    meeting_id: MeetingId
    title: str = ""
    capacity: int = 100
    lobby: bool = False
    chat_mode: ChatMode = "open"
    members_visible: bool = True
    share_limit_s: int = 0
    readings: int = 0
    """How many readings the meeting defines (``pin`` takes an index below this)."""
    resume_window_ms: int = 600_000
    share_warning_ms: int = 30_000
    idle_end_ms: int = 1_800_000
    """A room nobody has been in for this long ends by itself, and its data is dropped."""
    owner: str | None = None
    """The facilitator account that owns the meeting: it cannot be muted, demoted or removed
    here, and it takes the host's role back whenever nobody else holds it."""


@dataclass(frozen=True, slots=True)
class Member:
    id: MemberId
    name: str
    key: str
    role: Role
    lobby: bool
    conn: str | None
    """The member's current connection, or None while away."""
    joined_at: int
    away_since: int | None = None
    admitted_at: Seq | None = None
    """Seq from which the member may see room events (replays never reach further back)."""
    muted: bool = False
    trusted: bool = False
    sent: int = 0
    last_msg_at: int | None = None
    recent_cids: tuple[str, ...] = ()
    blocks: frozenset[MemberId] = frozenset()
    device: str | None = None
    account: str | None = None
    grant: str | None = None
    """The facilitator ticket's grant (``app.auth.tickets.TicketSigner.grant``)."""
    entered_at: int | None = None
    """When the member came into the room (ms): the start of an attendance slip. None in the
    lobby (except for a member who replaced their old one: it keeps that one's); a member sent
    back to the lobby starts again when admitted."""

    @property
    def is_facilitator(self) -> bool:
        return self.role in FACILITATOR_ROLES

    def after_message(self, at: int, cid: str) -> Member:
        """This member once their message ``cid`` went out at ``at``.

        Spelled out rather than ``dataclasses.replace``: it runs for every message, and
        ``replace`` costs three times as much.
        """
        return Member(
            self.id,
            self.name,
            self.key,
            self.role,
            self.lobby,
            self.conn,
            self.joined_at,
            self.away_since,
            self.admitted_at,
            self.muted,
            self.trusted,
            self.sent + 1,
            at,
            (*self.recent_cids, cid)[-RECENT_CIDS:],
            self.blocks,
            self.device,
            self.account,
            self.grant,
            self.entered_at,
        )

    @property
    def present(self) -> bool:
        return self.conn is not None


@dataclass(frozen=True, slots=True)
class RoomState:
    config: RoomConfig
    seq: Seq = Seq(0)
    phase: Phase = "waiting"
    members: Mapping[MemberId, Member] = field(default_factory=dict)
    hands: tuple[MemberId, ...] = ()
    floor: MemberId | None = None
    floor_until: int | None = None
    floor_warned: bool = False
    live_since: int | None = None
    """When the meeting started (ms): an attendance slip never starts before it."""
    locked: bool = False
    muted_all: bool = False
    slow_s: int = 0
    pinned: int | None = None
    banned_devices: frozenset[str] = frozenset()
    banned: frozenset[MemberId] = frozenset()
    banned_accounts: frozenset[str] = frozenset()
    """Facilitator accounts banned here: none of their tickets gets back in."""
    muted_devices: frozenset[str] = frozenset()
    muted_accounts: frozenset[str] = frozenset()
    """Devices and facilitator accounts muted here: a new ticket from them joins muted (a
    mute is not undone by leaving and coming back)."""
    holds: Mapping[HoldId, Held] = field(default_factory=dict)
    peak: int = 0
    empty_since: int | None = None
    """When the last member left (ms), while the room stays empty."""
    account_roles: Mapping[str, Role] = field(default_factory=dict)
    """The role each facilitator account holds in this meeting now (one account may be in the
    room from two devices, or come back after a drop): set when it joins and by every role
    change of one of its members. A new ticket of the account joins with this role, not the
    one its ticket was issued with, and a role change reaches all of the account's members,
    so a demotion or a hand-over sticks to the person."""

    def member(self, member_id: MemberId | None) -> Member | None:
        return None if member_id is None else self.members.get(member_id)

    def admitted(self) -> list[Member]:
        return [m for m in self.members.values() if not m.lobby]

    def lobby(self) -> list[Member]:
        return [m for m in self.members.values() if m.lobby]

    def name_taken(self, key: str, account: str | None) -> bool:
        """Whether a newcomer under ``key`` would share a name with someone here.

        A facilitator account may be in the room twice (console and phone): the same person,
        under the same display name, is no impersonation.
        """
        return any(
            m.key == key and (account is None or m.account != account)
            for m in self.members.values()
        )

    def joining_role(self, role: Role, account: str | None) -> Role:
        """The role a join issued with ``role`` for ``account`` takes here: the account's role
        in this meeting now (a demotion or a hand-over sticks to the person), and never a
        second host (the owner back after handing over joins as a co-facilitator while the new
        host is here, and as host once nobody holds it). Decided and applied alike, so a join
        decided on a replica that lagged a hand-over agrees."""
        if account is not None and role != "member":
            role = self.account_roles.get(account, role)
            if account == self.config.owner:
                role = "host"  # the owner's: back to host when nobody else holds it
        if role == "host" and any(
            m.role == "host" and m.account != account for m in self.members.values()
        ):
            role = "cofac"
        return role

    @property
    def chat_closed(self) -> bool:
        """Only facilitators may post (and react): everyone muted, or a facilitators-only
        chat. Decided and applied alike."""
        return self.muted_all or self.config.chat_mode == "facilitators"

    def replaceable(self, key: str, device: str | None) -> Member | None:
        """The participant a newcomer named ``key`` from browser ``device`` takes over: the
        same browser under the same name, back with a new ticket (the welcome of its first was
        lost on a bad link, or the tab was closed and opened again). None when there is no such
        member: the name is someone else's, or free."""
        if device is None:
            return None
        for m in self.members.values():
            if m.key == key:
                return m if m.device == device and not m.is_facilitator else None
        return None

    def joins_muted(self, device: str | None, account: str | None, role: Role) -> bool:
        """Whether a newcomer with this device and account comes in muted (never a host, nor
        the meeting's owner)."""
        if role == "host" or (account is not None and account == self.config.owner):
            return False
        return (device is not None and device in self.muted_devices) or (
            account is not None and account in self.muted_accounts
        )

    def seats_taken(self) -> int:
        """Seats counted against the capacity: one per person, so a facilitator account in
        the room from two devices (console and phone) takes one seat, not two. The lobby
        counts (each waiting member is held in memory)."""
        accounts: set[str] = set()
        seats = 0
        for m in self.members.values():
            if m.account is not None and m.is_facilitator:
                accounts.add(m.account)
            else:
                seats += 1
        return seats + len(accounts)

    def facilitators_present(self) -> bool:
        return any(m.is_facilitator and m.present for m in self.members.values())

    def count(self) -> int:
        """Members in the room proper (the lobby does not count towards capacity)."""
        return sum(1 for m in self.members.values() if not m.lobby)
