"""Wire models of the meetings API, kept apart from the table rows.

``MeetingSpec`` is the whole, validated definition of a meeting as a facilitator edits it: the
service builds one for a create (``MeetingCreate``, defaults filled by format) and for an update
(current values merged with a ``MeetingUpdate``), so every rule is checked in one place whatever
the path. Output models never carry the passcode or its hash (``has_passcode`` instead), nor a
facilitator's username or id in public output: only display names.
"""

import importlib
import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, Self, get_args
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.api.validation import InputModel
from app.auth.schemas import Username
from app.rooms.types import MAX_CAPACITY

MeetingFormat = Literal[
    "12-step", "smart-recovery", "open-share", "peer-mentoring", "family-and-friends"
]
FORMATS: tuple[MeetingFormat, ...] = get_args(MeetingFormat)
ChatMode = Literal["open", "facilitators"]

# Per-format defaults: shares are 3-5 minutes in 12-step practice (MEETINGS.md); peer
# mentoring is two people in an unlisted room.
DEFAULT_SHARE_LIMIT_S: dict[str, int] = {"12-step": 180}
DEFAULT_SHARE_LIMIT_OTHER_S = 300
PEER_MENTORING_CAPACITY = 2

MIN_CAPACITY = 2
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
StartTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Weekday = Annotated[int, Field(ge=0, le=6)]
Capacity = Annotated[int, Field(ge=MIN_CAPACITY, le=MAX_CAPACITY)]
ShareLimit = Annotated[int, Field(ge=30, le=1800)]
# Up to a whole day: some groups keep a drop-in room open around the clock.
DurationMin = Annotated[int, Field(ge=5, le=1440)]
Passcode = Annotated[str, StringConstraints(min_length=4, max_length=128)]


@cache
def _zones() -> frozenset[str]:
    # The list of keys, not ZoneInfo(name): ZoneInfo also accepts odd file paths and names
    # like "localtime" that depend on the host.
    # Host-specific entries of the system zone directory are not IANA keys.
    odd = {"localtime", "posixrules", "Factory"}
    return frozenset(
        name
        for name in available_timezones()
        if name not in odd and not name.startswith(("posix/", "right/"))
    )


def valid_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA time zone key; raise ValueError otherwise."""
    if name not in _zones():
        raise ValueError("unknown time zone (use an IANA name such as Europe/London)")
    return name


def validate_policy(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check moderation overrides with the moderation package's own rules when it exists."""
    try:
        policy_module = importlib.import_module("app.moderation.policy")
    except ModuleNotFoundError as missing:
        # Only the moderation package being absent (built in parallel) is tolerated; a missing
        # dependency inside it must still fail loudly.
        if missing.name not in {"app.moderation", "app.moderation.policy"}:
            raise
        return overrides
    # from_overrides raises a ValueError (pydantic's ValidationError is one) on a bad key.
    policy_module.Policy.from_overrides(overrides)
    return overrides


class Reading(BaseModel):
    """A text block read out in the meeting, such as the preamble."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


Readings = Annotated[list[Reading], Field(max_length=20)]


class _Schedule(InputModel):
    # InputModel: a title, reading or policy key that UTF-8 cannot encode is a 422 before the
    # database sees it (app/api/validation.py).

    @field_validator("weekdays", check_fields=False)
    @classmethod
    def _sorted_days(cls, days: list[int] | None) -> list[int] | None:
        return None if days is None else sorted(set(days))

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        return None if name is None else valid_timezone(name)

    @field_validator("language", check_fields=False)
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not _LANGUAGE.match(value):
            raise ValueError("language must be a short BCP-47 tag such as en or pt-BR")
        return value

    @field_validator("policy", check_fields=False)
    @classmethod
    def _policy(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else validate_policy(value)


class MeetingCreate(_Schedule):
    """A new meeting. Fields left out take the format's defaults."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    format: MeetingFormat = "open-share"
    language: str = "en"
    weekdays: Annotated[list[Weekday], Field(max_length=7)] = Field(
        default_factory=list, description="0 = Monday; empty: no regular schedule"
    )
    start_time: StartTime = Field("19:00", description="local wall-clock time, HH:MM")
    duration_min: DurationMin = 60
    timezone: str = Field("UTC", description="IANA time zone, e.g. America/New_York")
    capacity: Capacity | None = Field(None, description="default: 2 for peer-mentoring")
    passcode: Passcode | None = Field(None, description="stored hashed; never returned")
    lobby: bool = False
    chat_mode: ChatMode = "open"
    members_visible: bool = True
    share_limit_s: ShareLimit | None = Field(None, description="default: 180 12-step, else 300")
    readings: Readings = Field(default_factory=list)
    listed: bool | None = Field(None, description="default: unlisted for peer-mentoring")
    co_facilitators: Annotated[list[Username], Field(max_length=20)] = Field(default_factory=list)
    policy: dict[str, Any] = Field(default_factory=dict, description="moderation overrides")


class MeetingUpdate(_Schedule):
    """A partial edit: only the fields sent change. ``passcode: null`` removes the passcode."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    format: MeetingFormat | None = None
    language: str | None = None
    weekdays: Annotated[list[Weekday], Field(max_length=7)] | None = None
    start_time: StartTime | None = None
    duration_min: DurationMin | None = None
    timezone: str | None = None
    capacity: Capacity | None = None
    passcode: Passcode | None = None
    lobby: bool | None = None
    chat_mode: ChatMode | None = None
    members_visible: bool | None = None
    share_limit_s: ShareLimit | None = None
    readings: Readings | None = None
    listed: bool | None = None
    co_facilitators: Annotated[list[Username], Field(max_length=20)] | None = None
    policy: dict[str, Any] | None = None


class MeetingSpec(_Schedule):
    """A complete, consistent meeting definition (internal: what gets stored).

    ``passcode`` here is the plain passcode to set, ``keep`` to leave the stored hash alone,
    or None for no passcode.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title
    description: Description
    format: MeetingFormat
    language: str
    weekdays: list[Weekday]
    start_time: StartTime
    duration_min: DurationMin
    timezone: str
    capacity: Capacity
    lobby: bool
    chat_mode: ChatMode
    members_visible: bool
    share_limit_s: ShareLimit
    readings: Readings
    listed: bool
    co_facilitators: list[Username]
    policy: dict[str, Any]

    @model_validator(mode="after")
    def _format_rules(self) -> Self:
        if self.format == "peer-mentoring" and self.capacity != PEER_MENTORING_CAPACITY:
            raise ValueError("a peer-mentoring meeting is for two people (capacity 2)")
        return self

    @classmethod
    def from_create(cls, data: MeetingCreate, default_capacity: int) -> Self:
        """Fill the format's defaults into a create request and validate the whole."""
        fields = data.model_dump(exclude={"passcode"})
        mentoring = data.format == "peer-mentoring"
        if fields["capacity"] is None:
            capacity = PEER_MENTORING_CAPACITY if mentoring else default_capacity
            fields["capacity"] = max(MIN_CAPACITY, min(MAX_CAPACITY, capacity))
        if fields["share_limit_s"] is None:
            fields["share_limit_s"] = default_share_limit(data.format)
        if fields["listed"] is None:
            fields["listed"] = not mentoring
        return cls.model_validate(fields)

    def merged(self, update: MeetingUpdate, default_capacity: int) -> Self:
        """Apply the fields an update sent and validate the whole again.

        A format change resets what the update did not set: the share limit to the new
        format's default; into peer-mentoring, the capacity to 2 and the meeting out of the
        directory; out of it, the capacity to ``default_capacity`` (a group meeting of two
        seats is never what a facilitator means). Leaving peer-mentoring does not list the
        meeting: a private 1:1 appears in the directory only when someone says so."""
        sent = update.model_dump(exclude_unset=True, exclude={"passcode"})
        fields = self.model_dump() | {k: v for k, v in sent.items() if v is not None}
        new_format = sent.get("format")
        if new_format is not None and new_format != self.format:
            if "share_limit_s" not in sent:
                fields["share_limit_s"] = default_share_limit(new_format)
            if new_format == "peer-mentoring":
                if "capacity" not in sent:
                    fields["capacity"] = PEER_MENTORING_CAPACITY
                if "listed" not in sent:
                    fields["listed"] = False
            elif self.format == "peer-mentoring" and "capacity" not in sent:
                fields["capacity"] = max(MIN_CAPACITY, min(MAX_CAPACITY, default_capacity))
        return type(self).model_validate(fields)


def default_share_limit(meeting_format: str) -> int:
    return DEFAULT_SHARE_LIMIT_S.get(meeting_format, DEFAULT_SHARE_LIMIT_OTHER_S)


class Occurrence(BaseModel):
    """When a meeting next happens (or is happening), in UTC and in the caller's zone."""

    start_utc: datetime
    end_utc: datetime
    start_local: datetime | None = Field(None, description="in the zone the client asked for")
    live: bool


class MeetingPublic(BaseModel):
    """What anyone holding a meeting's link may see, before joining."""

    id: str
    title: str
    description: str
    format: MeetingFormat
    language: str
    timezone: str
    weekdays: list[int]
    start_time: str
    duration_min: int
    next: Occurrence | None
    capacity: int
    has_passcode: bool
    lobby: bool
    chat_mode: ChatMode
    members_visible: bool
    share_limit_s: int
    readings: list[Reading]
    facilitators: list[str] = Field(description="display names only")


class MeetingAdmin(MeetingPublic):
    """A meeting as its own facilitators see it."""

    listed: bool
    owner: str = Field(description="owner's username")
    co_facilitators: list[str] = Field(description="usernames")
    policy: dict[str, Any]
    is_owner: bool
    url: str = Field(description="the meeting link to share")
    created_at: datetime
    updated_at: datetime


class DirectoryEntry(BaseModel):
    """One listed meeting in the public directory."""

    id: str
    title: str
    format: MeetingFormat
    language: str
    duration_min: int
    next: Occurrence | None
    has_passcode: bool
    lobby: bool
    host: str = Field(description="the owner's display name")


class Directory(BaseModel):
    tz: str
    meetings: list[DirectoryEntry]


class AuditEntry(BaseModel):
    """One content-free audit row: who did what to which meeting-scoped member, and when."""

    at: datetime
    occurrence_id: int | None
    action: str
    actor_member: str | None
    target_member: str | None
    facilitator: str | None = Field(description="facilitator display name, if an account")
