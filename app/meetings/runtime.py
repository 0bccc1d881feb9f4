"""What the room core needs to know about a meeting, read once when a room opens or a member
joins: the settings that govern the room, and who may run it.

A plain frozen dataclass, not a row or a wire model: the room core must not reach into the
database on the message path (DESIGN.md), so it gets an immutable copy it can keep.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FacilitatorRole = Literal["owner", "cofac"]


@dataclass(frozen=True)
class RuntimeReading:
    title: str
    text: str


@dataclass(frozen=True)
class RuntimeFacilitator:
    id: str
    display_name: str
    role: FacilitatorRole


@dataclass(frozen=True)
class MeetingRuntime:
    id: str
    title: str
    format: str
    capacity: int
    lobby: bool
    chat_mode: Literal["open", "facilitators"]
    members_visible: bool
    share_limit_s: int
    readings: tuple[RuntimeReading, ...]
    # argon2id hash, or None when the meeting has no passcode; check a candidate with
    # ``app.auth.passwords.verify_password(passcode_hash, candidate).ok`` (in a thread).
    passcode_hash: str | None
    # Moderation overrides as stored; ``app.moderation.policy.Policy.from_overrides(policy)``.
    policy: Mapping[str, Any]
    # Owner first, then co-facilitators by display name.
    facilitators: tuple[RuntimeFacilitator, ...]
    # About the facilitator id passed to ``meeting_access`` (both False for a participant).
    is_owner: bool
    is_facilitator: bool

    @property
    def has_passcode(self) -> bool:
        return self.passcode_hash is not None

    @property
    def facilitator_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.facilitators)

    @property
    def facilitator_names(self) -> tuple[str, ...]:
        """Display names (the moderation pipeline uses them to spot impersonation)."""
        return tuple(f.display_name for f in self.facilitators)
