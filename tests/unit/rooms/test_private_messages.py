"""Private messages: between one member and the meeting's facilitators, never member to member.

A member writes to the facilitators as a team (every facilitator reads the thread, so no one
can use the channel unseen); a facilitator writes to one member, and the other facilitators
read that too. The rules are pure: decide says who may write to whom, the reducer re-checks
the facts on every replica, and the audience is the member and the facilitators only.
"""

from __future__ import annotations

from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.decide import Rejection, decide
from app.rooms.events import Audience, Envelope
from app.rooms.hub import can_see
from app.rooms.reducer import applied
from app.rooms.state import RoomConfig
from app.rooms.types import MeetingId, MemberId, Seq

from .harness import PureRoom, refold


def meeting(**config: object) -> PureRoom:
    """A live meeting: host Hana, members Ann and Bob, Lee waiting in the lobby."""
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), lobby=True, **config))  # type: ignore[arg-type]
    room.join("hana", "host")
    room.ok("hana", p.Start(t="start"))
    for member in ("ann", "bob"):
        room.join(member)
        room.ok("hana", p.Admit(t="admit", m=MemberId(member)))
    room.join("lee")
    return room


def private(cid: str, text: str, to: str | None = None, **kw: object) -> sys.Post:
    return sys.Post(cid=cid, text=text, private=True, to=MemberId(to) if to else None, **kw)  # type: ignore[arg-type]


def only(events: tuple[ev.RoomEvent, ...]) -> ev.PrivateSaid:
    said = [e for e in events if isinstance(e, ev.PrivateSaid)]
    assert len(said) == 1, events
    return said[0]


def test_a_member_writes_to_the_facilitators_and_only_they_and_the_member_see_it() -> None:
    room = meeting()
    said = only(room.ok("ann", private("c1", "Can I pass tonight?")))
    assert (said.m, said.w, said.n, said.x) == ("ann", "ann", "Ann", "Can I pass tonight?")
    assert said.aud == Audience(fac=True, member=MemberId("ann"))
    members = room.state.members
    seq = room.state.seq
    assert can_see(said, seq, members[MemberId("hana")])
    assert can_see(said, seq, members[MemberId("ann")])
    assert not can_see(said, seq, members[MemberId("bob")])
    assert not can_see(said, seq, members[MemberId("lee")])


def test_a_facilitator_writes_to_one_member_and_the_thread_is_that_members() -> None:
    room = meeting()
    room.join("cole", "cofac")
    said = only(room.ok("hana", private("h1", "How are you doing?", to="ann")))
    assert (said.m, said.w, said.n) == ("ann", "hana", "Hana")
    members = room.state.members
    # The other facilitators read it too: nobody on the team writes to a member unseen.
    assert can_see(said, room.state.seq, members[MemberId("cole")])
    assert not can_see(said, room.state.seq, members[MemberId("bob")])


def test_someone_waiting_in_the_lobby_can_write_and_be_written_to() -> None:
    room = meeting()
    assert only(room.ok("lee", private("l1", "I'm new, is it ok to just listen?"))).m == "lee"
    said = only(room.ok("hana", private("h2", "Of course. Welcome.", to="lee")))
    lee = room.state.members[MemberId("lee")]
    assert lee.lobby and can_see(said, room.state.seq, lee)


def test_members_cannot_write_privately_to_each_other() -> None:
    room = meeting()
    assert room.refused("ann", private("c1", "hey, what's your number?", to="bob")) == (
        "not_allowed"
    )
    # Naming oneself is the same as naming no one: the facilitators.
    assert only(room.ok("ann", private("c2", "hello", to="ann"))).m == "ann"


def test_a_facilitator_must_name_a_member_who_is_here_and_not_on_the_team() -> None:
    room = meeting()
    room.join("cole", "cofac")
    assert room.refused("hana", private("h1", "hi")) == "invalid"
    assert room.refused("hana", private("h2", "hi", to="zed")) == "no_such_member"
    assert room.refused("hana", private("h3", "hi", to="hana")) == "self_target"
    assert room.refused("hana", private("h4", "hi", to="cole")) == "invalid"


def test_with_no_facilitator_in_the_meeting_a_member_is_told_so() -> None:
    room = meeting()
    room.ok("hana", p.Leave(t="leave"))
    assert room.refused("ann", private("c1", "anyone there?")) == "no_facilitator"


def test_a_facilitator_whose_link_dropped_still_gets_it_when_back() -> None:
    room = meeting()
    room.ok("hana", sys.Disconnect(member=MemberId("hana"), conn="c-hana"))
    assert not room.state.members[MemberId("hana")].present
    assert only(room.ok("ann", private("c1", "are you there?"))).m == "ann"


def test_a_muted_member_still_reaches_the_facilitators_a_muted_co_facilitator_cannot() -> None:
    room = meeting()
    room.join("cole", "cofac")
    room.ok("hana", p.Mute(t="mute", m=MemberId("ann"), on=True))
    room.ok("hana", p.MuteAll(t="mute_all", on=True))
    assert only(room.ok("ann", private("c1", "sorry about earlier"))).m == "ann"
    room.ok("hana", p.Mute(t="mute", m=MemberId("cole"), on=True))
    assert room.refused("cole", private("k1", "psst", to="bob")) == "muted"


def test_slow_mode_and_a_closed_chat_do_not_hold_a_private_message_back() -> None:
    room = meeting(chat_mode="facilitators")
    room.ok("hana", p.Slow(t="slow", secs=60))
    only(room.ok("ann", private("c1", "one")))
    only(room.ok("ann", private("c2", "two")))


def test_the_same_message_twice_is_one_message() -> None:
    room = meeting()
    room.ok("ann", private("c1", "hello"))
    assert room.refused("ann", private("c1", "hello")) == "duplicate"
    # Decided twice on a lagging replica: the reducer folds the second as nothing.
    said = ev.PrivateSaid(m=MemberId("ann"), w=MemberId("ann"), n="Ann", x="hi", cid="c2")
    state = room.state
    once, took = applied(state, Envelope(seq=Seq(state.seq + 1), at=1, event=said))
    twice, took_again = applied(once, Envelope(seq=Seq(state.seq + 2), at=1, event=said))
    assert took and not took_again
    assert twice.members == once.members


def test_a_message_to_someone_who_left_meanwhile_is_not_delivered() -> None:
    room = meeting()
    said = only(room.ok("hana", private("h1", "checking in", to="bob")))
    room.ok("bob", p.Leave(t="leave"))
    state = room.state
    _, took = applied(state, Envelope(seq=Seq(state.seq + 1), at=1, event=said))
    assert not took


def test_crisis_language_in_a_private_message_brings_the_card_and_the_alert() -> None:
    room = meeting()
    events = room.ok(
        "ann",
        private("c1", "I want to die tonight", crisis="suicide", hint="Reach out", card={"t": 1}),
    )
    care = [e for e in events if isinstance(e, ev.CareOffered)]
    alerts = [e for e in events if isinstance(e, ev.Alerted)]
    assert len(care) == 1 and care[0].aud == Audience(member=MemberId("ann"))
    assert len(alerts) == 1 and alerts[0].cid == "c1" and alerts[0].aud.fac
    # The semantic screen's care after delivery finds the message as delivered.
    assert room.run("ann", sys.Concern(cid="c1", crisis="suicide", hint="")) != ()


def test_a_private_message_leaves_the_room_state_as_the_log_refolds_it() -> None:
    room = meeting()
    room.ok("ann", private("c1", "hello"))
    room.ok("hana", private("h1", "hi Ann", to="ann"))
    assert refold(room.config, room.log) == room.state


def test_a_members_message_decided_before_the_last_facilitator_left_reaches_nobody() -> None:
    room = meeting()
    decided = decide(room.state, MemberId("ann"), private("c1", "are you there?"), room.now)
    assert not isinstance(decided, Rejection)
    said = only(decided)
    room.ok("hana", p.Leave(t="leave"))  # appended first, by another worker
    state = room.state
    _, took = applied(state, Envelope(seq=Seq(state.seq + 1), at=1, event=said))
    # Not told to Ann as sent: her client keeps it, and sending it again says why.
    assert not took
