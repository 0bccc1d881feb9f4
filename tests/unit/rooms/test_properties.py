"""Property tests of the pure core: random command sequences from members of every role."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.rooms import commands as sys
from app.rooms import protocol as p
from app.rooms.events import Envelope, RoleChanged
from app.rooms.state import RoomConfig
from app.rooms.types import HoldId, MeetingId, MemberId, Seq

from .harness import PureRoom, refold

PEOPLE = ["host", "co", "ann", "bob", "cat"]
members = st.sampled_from(PEOPLE).map(MemberId)
cids = st.text(alphabet="abc", min_size=1, max_size=2)


def command() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda c: sys.Post(cid=c, text="t"), cids),
        st.builds(
            lambda c, h: sys.Post(cid=c, text="t", hold=True, hold_id=HoldId(h)),
            cids,
            st.sampled_from(["h1", "h2"]),
        ),
        st.builds(lambda up: p.Hand(t="hand", up=up), st.booleans()),
        st.just(p.Yield(t="yield")),
        st.builds(lambda m: p.Block(t="block", m=m), members),
        st.builds(lambda m: p.Report(t="report", m=m), members),
        st.just(p.Leave(t="leave")),
        st.just(p.Start(t="start")),
        st.builds(lambda m: p.Admit(t="admit", m=m), members),
        st.just(p.AdmitAll(t="admit_all")),
        st.builds(lambda m: p.Deny(t="deny", m=m), members),
        st.builds(lambda m, on: p.Mute(t="mute", m=m, on=on), members, st.booleans()),
        st.builds(lambda on: p.MuteAll(t="mute_all", on=on), st.booleans()),
        st.builds(lambda m, b: p.Remove(t="remove", m=m, ban=b), members, st.booleans()),
        st.builds(lambda m: p.ToLobby(t="to_lobby", m=m), members),
        st.builds(lambda on: p.Lock(t="lock", on=on), st.booleans()),
        st.builds(lambda m: p.Floor(t="floor", m=m), st.none() | members),
        st.just(p.FloorEnd(t="floor_end")),
        st.builds(
            lambda m, r: p.SetRole(t="role", m=m, r=r),
            members,
            st.sampled_from(["cofac", "member"]),
        ),
        st.builds(lambda m: p.HandOver(t="host", m=m), members),
        st.builds(
            lambda h, ok: p.Review(t="review", h=HoldId(h), ok=ok),
            st.sampled_from(["h1", "h2"]),
            st.booleans(),
        ),
        st.builds(lambda m: sys.Disconnect(member=m, conn=f"c-{m}"), members),
        st.builds(lambda m: sys.Reconnect(member=m, conn=f"c-{m}"), members),
        st.just(sys.Tick()),
        st.just(p.End(t="end")),
    )


def fresh_room(lobby: bool) -> PureRoom:
    room = PureRoom(
        config=RoomConfig(meeting_id=MeetingId("r"), lobby=lobby, share_limit_s=60, readings=2)
    )
    room.join("host", "host")
    room.join("co", "cofac")
    for name in ("ann", "bob", "cat"):
        room.join(name, device=f"dev-{name}")
    return room


steps = st.lists(st.tuples(st.sampled_from(PEOPLE), command(), st.integers(0, 40_000)), max_size=60)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.booleans(), steps)
def test_replicas_agree_and_invariants_hold(lobby: bool, script: list[Any]) -> None:
    room = fresh_room(lobby)
    for actor, cmd, dt in script:
        room.now += dt
        room.run(actor, cmd)
        check_invariants(room)
    # Two replicas applying the same log are equal, and equal to the incremental state.
    assert refold(room.config, room.log) == room.state
    # Snapshot at any point + the tail equals the full fold.
    cut = len(room.log) // 2
    from app.rooms.reducer import apply

    state = refold(room.config, room.log[:cut])
    for envelope in room.log[cut:]:
        state = apply(state, envelope)
    assert state == room.state


def check_invariants(room: PureRoom) -> None:
    state = room.state
    assert [e.seq for e in room.log] == list(range(1, len(room.log) + 1))  # gapless
    assert len(set(state.hands)) == len(state.hands)
    assert all(h in state.members and not state.members[h].lobby for h in state.hands)
    if state.floor is not None:
        assert state.floor in state.members and state.floor not in state.hands
    assert not (state.banned & set(state.members))
    assert sum(1 for m in state.members.values() if m.role == "host") <= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ann", "bob"]), command()), max_size=60))
def test_participant_commands_never_grant_facilitator_powers(script: list[Any]) -> None:
    room = fresh_room(lobby=False)
    room.ok("host", p.Start(t="start"))
    for actor, cmd in script:
        result = room.run(actor, cmd)
        if isinstance(result, tuple):
            assert not any(isinstance(e, RoleChanged) for e in result)
    for name in ("ann", "bob"):
        member = room.state.members.get(MemberId(name))
        assert member is None or member.role == "member"


class RoomMachine(RuleBasedStateMachine):
    """Random valid and invalid commands from every role, with the invariants after each."""

    def __init__(self) -> None:
        super().__init__()
        self.room = fresh_room(lobby=True)
        self.removed_banned: set[str] = set()

    @rule(actor=st.sampled_from(PEOPLE), cmd=command(), dt=st.integers(0, 40_000))
    def act(self, actor: str, cmd: Any, dt: int) -> None:
        self.room.now += dt
        before = {m: self.room.state.members[m].role for m in self.room.state.members}
        result = self.room.run(actor, cmd)
        if isinstance(cmd, p.Remove) and cmd.ban and isinstance(result, tuple) and result:
            self.removed_banned.add(cmd.m)
        for m, role in before.items():
            after = self.room.state.members.get(m)
            if after is not None and after.role != role:
                # Roles only change by a facilitator's action.
                assert isinstance(cmd, p.SetRole | p.HandOver)
                assert before.get(MemberId(actor)) in ("host", "cofac")

    @precondition(lambda self: self.room.state.phase != "ended")
    @rule(name=st.sampled_from(["Ann", "Bob", "Dee"]), device=st.sampled_from(["ann", "bob", "x"]))
    def rejoin(self, name: str, device: str) -> None:
        member = f"new-{name}-{len(self.room.log)}"
        self.room.join(member, name=name, device=f"dev-{device}")

    @invariant()
    def invariants(self) -> None:
        check_invariants(self.room)
        for banned in self.removed_banned:
            assert banned not in self.room.state.members
            device = f"dev-{banned}"
            assert not any(m.device == device for m in self.room.state.members.values())

    @invariant()
    def state_is_the_fold_of_the_log(self) -> None:
        log: list[Envelope] = self.room.log
        assert refold(self.room.config, log) == self.room.state
        assert self.room.state.seq == Seq(len(log))


TestRoomMachine = RoomMachine.TestCase
TestRoomMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
