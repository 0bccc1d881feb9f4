"""Snapshots and log records are lossless: what a worker saves, another reads back equal."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rooms import codec
from app.rooms import commands as sys
from app.rooms import protocol as p
from app.rooms.events import Held
from app.rooms.state import Member, RoomConfig, RoomState
from app.rooms.state_codec import dump_state, load_state
from app.rooms.types import HoldId, MeetingId, MemberId, Seq

from .harness import PureRoom
from .test_properties import PEOPLE, command, fresh_room

steps = st.lists(st.tuples(st.sampled_from(PEOPLE), command(), st.integers(0, 40_000)), max_size=60)


def played(lobby: bool, script: list[Any]) -> PureRoom:
    room = fresh_room(lobby)
    for actor, cmd, dt in script:
        room.now += dt
        room.run(actor, cmd)
    return room


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.booleans(), steps)
def test_random_states_round_trip_equal(lobby: bool, script: list[Any]) -> None:
    room = played(lobby, script)
    data = dump_state(room.state)
    assert load_state(data) == room.state
    assert dump_state(load_state(data)) == data  # stable: equal states give equal bytes


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.booleans(), steps)
def test_log_records_round_trip_equal(lobby: bool, script: list[Any]) -> None:
    room = played(lobby, script)
    for envelope in room.log:
        data = codec.record(envelope.event)
        assert codec.from_record(envelope.seq, envelope.at, data) == envelope


def test_every_field_survives_when_none_is_default() -> None:
    """A hand-made state with every field away from its default (the random ones may miss some)."""
    config = RoomConfig(
        meeting_id=MeetingId("m1"),
        title="Tuesday",
        capacity=12,
        lobby=True,
        chat_mode="facilitators",
        members_visible=False,
        share_limit_s=90,
        readings=3,
        resume_window_ms=60_000,
        share_warning_ms=15_000,
        idle_end_ms=600_000,
        owner="own",
    )
    ann = Member(
        id=MemberId("ann"),
        name="Ann",
        key="ann",
        role="cofac",
        lobby=False,
        conn=None,
        joined_at=5,
        away_since=9,
        admitted_at=Seq(3),
        muted=True,
        trusted=True,
        sent=4,
        last_msg_at=8,
        recent_cids=("a", "b"),
        blocks=frozenset({MemberId("bob"), MemberId("cat")}),
        device="dev",
        account="acc",
        grant="g1",
        entered_at=7,
    )
    held = Held(h=HoldId("h1"), m=MemberId("ann"), n="Ann", x="text", cid="c", why=("pii.phone",))
    state = RoomState(
        config=config,
        seq=Seq(42),
        phase="live",
        members={ann.id: ann},
        hands=(MemberId("ann"),),
        floor=MemberId("ann"),
        floor_until=100,
        floor_warned=True,
        locked=True,
        muted_all=True,
        slow_s=30,
        pinned=1,
        banned_devices=frozenset({"d1", "d2"}),
        banned_accounts=frozenset({"a1"}),
        muted_devices=frozenset({"d3"}),
        muted_accounts=frozenset({"a2", "a3"}),
        banned=frozenset({MemberId("zed")}),
        holds={held.h: held},
        peak=7,
        empty_since=11,
        live_since=13,
    )
    for obj in (config, ann, state):  # the fixture really leaves no field at its default
        for field in dataclasses.fields(obj):
            if field.default is not dataclasses.MISSING:
                assert getattr(obj, field.name) != field.default, field.name
    restored = load_state(dump_state(state))
    assert restored == state
    assert isinstance(restored.members[MemberId("ann")].blocks, frozenset)
    assert isinstance(restored.hands, tuple)
    assert isinstance(restored.holds[HoldId("h1")], Held)


def test_held_messages_come_back_as_events() -> None:
    room = fresh_room(lobby=False)
    room.ok("host", p.Start(t="start"))
    room.ok("ann", sys.Post(cid="c1", text="t", hold=True, hold_id=HoldId("h1")))
    assert room.state.holds
    assert load_state(dump_state(room.state)) == room.state


def test_a_foreign_record_is_refused() -> None:
    with pytest.raises(ValueError):
        load_state(b'{"v": 999, "state": {}}')
