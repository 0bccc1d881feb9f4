"""Encoding of events: to the wire (what clients see) and to records (what a log stores).

``wire`` is called once per event and its bytes are shared by every recipient. ``record`` and
``from_record`` carry the whole event, audience included, through a log backend that stores
bytes (Redis); the memory backend keeps the objects and never calls them.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, cast

import orjson

from app.rooms import events as ev
from app.rooms.events import Envelope
from app.rooms.types import Seq


def wire_dict(envelope: Envelope) -> dict[str, Any]:
    event = envelope.event
    out: dict[str, Any] = {"s": envelope.seq, "at": envelope.at, "t": event.T}
    for name in event.WIRE:
        out[name] = getattr(event, name)
    return out


def wire(envelope: Envelope) -> bytes:
    """The JSON text clients receive for this event (UTF-8)."""
    return orjson.dumps(wire_dict(envelope))


def direct(payload: dict[str, Any]) -> bytes:
    """An unsequenced frame (welcome, error, warn, dup, pong)."""
    return orjson.dumps(payload)


_FIELDS: dict[str, tuple[str, ...]] = {
    cls.T: tuple(f.name for f in dataclasses.fields(cls) if f.name != "aud")
    for cls in ev.EVENT_TYPES
}
_TUPLE_FIELDS: dict[str, frozenset[str]] = {
    cls.T: frozenset(
        name
        for name, hint in typing.get_type_hints(cls).items()
        if typing.get_origin(hint) is tuple
    )
    for cls in ev.EVENT_TYPES
}


def record(event: ev.RoomEvent) -> bytes:
    """The full event as a log backend stores it (audience and internal fields included).

    The seq and time are not inside: the backend keeps them beside the record (a Redis stream
    entry's id and ``at`` field), so one record can be written before its seq is known.
    """
    body: dict[str, Any] = {"t": event.T, "a": event.aud.code()}
    for name in _FIELDS[event.T]:
        body[name] = getattr(event, name)
    return orjson.dumps(body)


def from_record(seq: Seq, at: int, data: bytes) -> Envelope:
    """Inverse of :func:`record`. Raises ``ValueError`` or ``KeyError`` on a foreign record."""
    body = orjson.loads(data)
    tag = body["t"]
    cls = ev.BY_TAG[tag]
    tuples = _TUPLE_FIELDS[tag]
    kwargs = {
        name: tuple(body[name]) if name in tuples else body[name]
        for name in _FIELDS[tag]
        if name in body
    }
    event = cast(ev.RoomEvent, cls(aud=ev.Audience.from_code(body["a"]), **kwargs))
    return Envelope(seq=seq, at=at, event=event)
