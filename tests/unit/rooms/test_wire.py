"""Encoding: what reaches the wire, the published schema, and the hand-built frames."""

from __future__ import annotations

import dataclasses
import typing

import jsonschema
import orjson
import pytest
from websockets.frames import Frame, Opcode

from app.rooms import codec
from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.connection import text_frame
from app.rooms.types import HoldId, MemberId, Seq

M = MemberId("Xk2_pQ9a")

SAMPLES: list[ev.RoomEvent] = [
    ev.Joined(m=M, n="Sam", r="member", lob=False, conn="c", joined_at=1, device="d", account=None),
    ev.Admitted(m=M, n="Sam"),
    ev.SentToLobby(m=M),
    ev.Left(m=M, why="banned"),
    ev.Away(m=M, conn="c"),
    ev.Back(m=M, conn="c"),
    ev.Said(m=M, n="Sam", x="hi ☕", cid="c1", red=True),
    ev.PrivateSaid(m=M, w=M, n="Sam", x="may I pass? ☕", cid="c2", aud=ev.to_member(M, fac=True)),
    ev.Reacted(m=M, to=Seq(3), r="hug"),
    ev.HandChanged(m=M, up=True),
    ev.FloorChanged(m=M, n="Sam", until=123),
    ev.FloorChanged(m=None, n=None, until=None),
    ev.FloorWarned(m=M),
    ev.FloorTimeUp(m=M),
    ev.Muted(m=M, on=True),
    ev.MutedAll(on=False),
    ev.RoleChanged(m=M, r="cofac"),
    ev.Locked(on=True),
    ev.SlowMode(secs=30),
    ev.Pinned(i=None),
    ev.PhaseChanged(p="live"),
    ev.LobbySaid(m=M, x="welcome"),
    ev.Held(h=HoldId("h1"), m=M, n="Sam", x="t", cid="c", why=("abuse.insult",), aud=ev.FAC),
    ev.HoldResolved(h=HoldId("h1"), ok=False, cid="c"),
    ev.Reported(m=M, to=None, why="", by=MemberId("other")),
    ev.Blocked(by=MemberId("other"), m=M, on=True),
    ev.Counted(c=4),
    ev.Trusted(m=M),
    ev.CareOffered(m=M, card={"title": "Help", "lines": []}),
    ev.Alerted(kind="suicide", m=M, n="Sam", cid="c1", hint="Reach out privately"),
    ev.Noticed(m=M, code="held", cid="c1"),
]


def test_every_event_type_has_a_sample() -> None:
    assert {type(e) for e in SAMPLES} == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.T)
def test_wire_frames_match_the_published_schema(event: ev.RoomEvent) -> None:
    schema = p.json_schema()["server"]
    frame = orjson.loads(codec.wire(ev.Envelope(seq=Seq(7), at=1000, event=event)))
    jsonschema.Draft202012Validator(schema).validate(frame)
    assert set(frame) == {"s", "at", "t", *event.WIRE}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.T)
def test_internal_fields_never_reach_the_wire(event: ev.RoomEvent) -> None:
    frame = orjson.loads(codec.wire(ev.Envelope(seq=Seq(1), at=1, event=event)))
    hidden = {f.name for f in dataclasses.fields(event)} - set(event.WIRE)
    assert not hidden & set(frame)
    assert "device" not in frame and "by" not in frame and "conn" not in frame


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.T)
def test_stored_records_round_trip(event: ev.RoomEvent) -> None:
    envelope = ev.Envelope(seq=Seq(9), at=42, event=event)
    assert codec.from_record(envelope.seq, envelope.at, codec.record(event)) == envelope


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_text_frame_equals_what_websockets_would_send(size: int) -> None:
    payload = b"a" * size
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected


def test_direct_frame_types_are_in_the_schema() -> None:
    schema = p.json_schema()
    validator = jsonschema.Draft202012Validator(schema["server"])
    validator.validate({"t": "pong"})
    validator.validate({"t": "dup", "cid": "c"})
    validator.validate({"t": "warn", "cid": "c", "code": "pii", "spans": [[0, 3, "pii"]]})
    validator.validate({"t": "error", "code": "muted", "msg": "..."})
    validator.validate({"t": "error", "code": "blocked", "msg": "...", "why": ["abuse.insult"]})
    validator.validate({"t": "room", "seq": 4, "role": "member", "room": {"id": "x"}})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"t": "msg", "s": 1, "at": 1})


def test_every_client_command_is_in_the_client_schema() -> None:
    text = orjson.dumps(p.json_schema()["client"]).decode()
    for cls in p.COMMAND_TYPES:
        tag = typing.get_args(cls.model_fields["t"].annotation)[0]
        assert f'"const":"{tag}"' in text or f'"enum":["{tag}"]' in text, tag
