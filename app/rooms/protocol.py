"""Wire protocol v1: the frames clients send, parsed once by one module-level adapter.

Every client frame is a JSON object whose ``t`` names its type; unknown types, unknown fields
and wrong types are refused with a typed error (see :mod:`app.rooms.errors`). Server events are
described in :mod:`app.rooms.events` and encoded by :mod:`app.rooms.codec`; this module also
builds the published JSON Schema of both directions (``GET /api/protocol.json``).

Roles are never read from a frame: who may do what follows from the ticket and the room state.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from app.rooms import events as ev
from app.rooms.types import MAX_TEXT_CHARS, HoldId, MemberId, Reaction, Seq

PROTOCOL_VERSION = 1

MemberRef = Annotated[MemberId, Field(min_length=1, max_length=32)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
ClientId = Annotated[str, Field(min_length=1, max_length=40)]
MAX_SEQ = 2**53 - 1
"""The largest seq a frame may name: what a JavaScript client holds exactly, and well within
the 64 bits the event encoders take (a larger number would make an event nobody can send)."""
SeqRef = Annotated[Seq, Field(ge=1, le=MAX_SEQ)]


class Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


# -- opening frames ---------------------------------------------------------------------------


class Hello(Frame):
    t: Literal["hello"]
    v: Literal[1]
    ticket: Annotated[str, Field(min_length=1, max_length=2048)]


class Resume(Frame):
    t: Literal["resume"]
    v: Literal[1]
    token: Annotated[str, Field(min_length=1, max_length=2048)]
    after: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    epoch: Annotated[str, Field(max_length=64)] = ""


# -- participant commands ---------------------------------------------------------------------


class Say(Frame):
    t: Literal["say"]
    cid: ClientId
    x: Text
    ok: bool = False
    """The sender saw a privacy warning for this text and chose to send it anyway."""


class Dm(Frame):
    """A private message: from a member to the meeting's facilitators (``m`` left out), or
    from a facilitator to one member ``m``. Every facilitator reads every private message;
    members cannot write privately to each other."""

    t: Literal["dm"]
    cid: ClientId
    x: Text
    m: MemberRef | None = None
    ok: bool = False
    """As for ``say``: the sender saw a privacy warning for this text and sends it anyway."""


class React(Frame):
    t: Literal["react"]
    to: SeqRef
    r: Reaction


class Hand(Frame):
    t: Literal["hand"]
    up: bool


class Yield(Frame):
    t: Literal["yield"]


class Report(Frame):
    t: Literal["report"]
    m: MemberRef
    to: SeqRef | None = None
    why: Annotated[str, Field(max_length=200)] = ""


class Block(Frame):
    t: Literal["block"]
    m: MemberRef


class Unblock(Frame):
    t: Literal["unblock"]
    m: MemberRef


class SlipAsk(Frame):
    """Ask for a proof of attendance (:mod:`app.rooms.attendance`), answered with ``slip``.
    ``name``: the name to print on it (a legal name, say); left empty, the member's own."""

    t: Literal["slip"]
    name: Annotated[str, Field(max_length=80)] = ""


class Leave(Frame):
    t: Literal["leave"]


class Ping(Frame):
    t: Literal["ping"]


# -- facilitator commands ---------------------------------------------------------------------


class Start(Frame):
    t: Literal["start"]


class End(Frame):
    t: Literal["end"]


class Admit(Frame):
    t: Literal["admit"]
    m: MemberRef


class Deny(Frame):
    t: Literal["deny"]
    m: MemberRef


class AdmitAll(Frame):
    t: Literal["admit_all"]


class Mute(Frame):
    t: Literal["mute"]
    m: MemberRef
    on: bool


class MuteAll(Frame):
    t: Literal["mute_all"]
    on: bool


class Remove(Frame):
    t: Literal["remove"]
    m: MemberRef
    ban: bool = False


class ToLobby(Frame):
    t: Literal["to_lobby"]
    m: MemberRef


class LobbySay(Frame):
    t: Literal["lobby_say"]
    x: Text


class Lock(Frame):
    t: Literal["lock"]
    on: bool


class Slow(Frame):
    t: Literal["slow"]
    secs: Annotated[int, Field(ge=0, le=3600)]


class Floor(Frame):
    t: Literal["floor"]
    m: MemberRef | None = None


class FloorEnd(Frame):
    t: Literal["floor_end"]


class Pin(Frame):
    t: Literal["pin"]
    i: Annotated[int, Field(ge=0, le=99)] | None


class SetRole(Frame):
    t: Literal["role"]
    m: MemberRef
    r: Literal["cofac", "member"]


class HandOver(Frame):
    t: Literal["host"]
    m: MemberRef


class Review(Frame):
    t: Literal["review"]
    h: Annotated[HoldId, Field(min_length=1, max_length=32)]
    ok: bool


class Trust(Frame):
    t: Literal["trust"]
    m: MemberRef


ParticipantCommand = (
    Say | Dm | React | Hand | Yield | Report | Block | Unblock | SlipAsk | Leave | Ping
)
FacilitatorCommand = (
    Start
    | End
    | Admit
    | Deny
    | AdmitAll
    | Mute
    | MuteAll
    | Remove
    | ToLobby
    | LobbySay
    | Lock
    | Slow
    | Floor
    | FloorEnd
    | Pin
    | SetRole
    | HandOver
    | Review
    | Trust
)
Command = ParticipantCommand | FacilitatorCommand
Opening = Hello | Resume

COMMAND_TYPES: tuple[type[Frame], ...] = typing.get_args(ParticipantCommand) + typing.get_args(
    FacilitatorCommand
)
FACILITATOR_COMMAND_TYPES: frozenset[str] = frozenset(
    typing.get_args(cls.model_fields["t"].annotation)[0]
    for cls in typing.get_args(FacilitatorCommand)
)

COMMANDS: TypeAdapter[Command] = TypeAdapter(Annotated[Command, Field(discriminator="t")])
OPENINGS: TypeAdapter[Opening] = TypeAdapter(Annotated[Opening, Field(discriminator="t")])


# -- server frames that are not log events ----------------------------------------------------


class Welcome(Frame):
    t: Literal["welcome"]
    v: Literal[1]
    me: MemberId
    role: Literal["host", "cofac", "member"]
    token: str
    epoch: str
    seq: int
    replay: bool
    room: dict[str, Any]
    max_text: int | None = None
    """The longest ``say`` this server takes (``HAVEN_MAX_TEXT_CHARS``): a client can stop
    the typing there rather than have the message refused."""
    rate: tuple[int, int] | None = None
    """The messages' limit, ``[n, s]``: n messages (``say`` and ``dm``) in any s seconds
    (``HAVEN_RATE_BURST``, ``HAVEN_RATE_PER_S``). A client paces what it sends, a queue resent
    after a reconnect above all, rather than have it refused."""


class Error(Frame):
    t: Literal["error"]
    code: str
    msg: str
    cid: str | None = None
    retry: float | None = None
    why: list[str] | None = None
    """For ``blocked``: the moderation reason codes."""


class RoomView(Frame):
    """A fresh snapshot for one member whose view of the room changed (admitted from the
    lobby, sent back to it, made co-facilitator or host, or no longer one). It follows the
    event that changed it and describes the room as of ``seq``."""

    t: Literal["room"]
    seq: int
    role: Literal["host", "cofac", "member"]
    room: dict[str, Any]


class Warn(Frame):
    """The message was NOT sent: it may identify the sender. Resend with ``ok`` or edit it."""

    t: Literal["warn"]
    cid: str
    code: Literal["pii"]
    spans: list[tuple[int, int, str]]


class Dup(Frame):
    t: Literal["dup"]
    cid: str


class Pong(Frame):
    t: Literal["pong"]


class Queue(Frame):
    """A member's place in the queue of raised hands, in a meeting whose member list is hidden
    (where they do not see the others' hands): sent whenever it changes while their hand is
    up. 1 is next."""

    t: Literal["queue"]
    pos: int


class Slip(Frame):
    """A proof of attendance, asked for with ``slip``: nothing of it is kept on the server."""

    t: Literal["slip"]
    code: str
    """40 base32 characters in groups of five; checked with the name at ``/verify``."""
    name: str
    title: str
    entered: int
    """When the member came into the room (ms since the Unix epoch, to the minute)."""
    until: int
    minutes: int


DIRECT_TYPES: tuple[type[Frame], ...] = (Welcome, RoomView, Error, Warn, Dup, Pong, Queue, Slip)


def _wire_model(cls: type[ev.Event]) -> type[BaseModel]:
    """A pydantic model of an event as clients receive it, derived from the event itself."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {
        "s": (int, ...),
        "at": (int, ...),
        "t": (Literal[cls.T], ...),
    }
    for name in cls.WIRE:
        fields[name] = (hints[name], ...)
    model: type[BaseModel] = create_model(
        f"{cls.__name__}Event", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


EVENT_MODELS: dict[str, type[BaseModel]] = {cls.T: _wire_model(cls) for cls in ev.EVENT_TYPES}


def json_schema() -> dict[str, Any]:
    """The published schema: client frames, direct server frames and sequenced events."""
    client: TypeAdapter[Any] = TypeAdapter(Annotated[Opening | Command, Field(discriminator="t")])
    # Built at run time from the event classes, so there is no static type to name here.
    server_union: Any = typing.Union[tuple(EVENT_MODELS.values()) + DIRECT_TYPES]  # noqa: UP007
    server: TypeAdapter[Any] = TypeAdapter(server_union)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Haven room protocol",
        "version": PROTOCOL_VERSION,
        "client": client.json_schema(),
        "server": server.json_schema(),
    }
