"""The meeting rules of decide + apply, as tables of commands in and facts out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.reducer import apply
from app.rooms.snapshot import snapshot
from app.rooms.state import MAX_HOLDS_PER_MEMBER, RoomConfig, RoomState
from app.rooms.types import HoldId, MeetingId, MemberId, Seq

from .harness import PureRoom, refold


def live_room(**config: object) -> PureRoom:
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), **config))  # type: ignore[arg-type]
    room.join("host", "host")
    room.ok("host", p.Start(t="start"))
    return room


def say(cid: str = "c1", text: str = "hello") -> sys.Post:
    return sys.Post(cid=cid, text=text)


def test_participants_wait_in_lobby_until_the_meeting_starts() -> None:
    room = PureRoom()
    room.join("host", "host")
    room.join("ann")
    assert room.state.members[MemberId("ann")].lobby
    assert room.refused("ann", say()) == "in_lobby"
    room.ok("host", p.Start(t="start"))
    assert room.state.phase == "live"
    assert not room.state.members[MemberId("ann")].lobby


def test_lobby_meeting_needs_admission_and_deny_removes() -> None:
    room = live_room(lobby=True)
    room.join("ann")
    room.join("bob")
    assert room.state.members[MemberId("ann")].lobby
    room.ok("host", p.Admit(t="admit", m=MemberId("ann")))
    room.ok("host", p.Deny(t="deny", m=MemberId("bob")))
    assert not room.state.members[MemberId("ann")].lobby
    assert MemberId("bob") not in room.state.members
    assert room.refused("host", p.Admit(t="admit", m=MemberId("ann"))) == "no_such_member"


def test_message_reaches_room_with_name_and_cid() -> None:
    room = live_room()
    room.join("ann")
    (said,) = room.ok("ann", say("c1", "hi all"))
    assert isinstance(said, ev.Said)
    assert (said.m, said.n, said.x, said.cid, said.aud) == ("ann", "Ann", "hi all", "c1", ev.ROOM)


def test_client_message_ids_make_sends_idempotent() -> None:
    room = live_room()
    room.join("ann")
    room.ok("ann", say("c1"))
    assert room.refused("ann", say("c1")) == "duplicate"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (p.Mute(t="mute", m=MemberId("ann"), on=True), "muted"),
        (p.MuteAll(t="mute_all", on=True), "chat_closed"),
    ],
)
def test_muted_members_cannot_post_but_facilitators_can(setup: p.Command, code: str) -> None:
    room = live_room()
    room.join("ann")
    room.ok("host", setup)
    assert room.refused("ann", say()) == code
    room.ok("host", say("h1"))


def test_facilitators_only_chat_mode() -> None:
    room = live_room(chat_mode="facilitators")
    room.join("ann")
    assert room.refused("ann", say()) == "chat_closed"


def test_slow_mode_spaces_messages() -> None:
    room = live_room()
    room.join("ann")
    room.ok("host", p.Slow(t="slow", secs=10))
    room.ok("ann", say("c1"))
    room.now += 4000
    assert room.refused("ann", say("c4")) == "slow_mode"
    room.now += 6000
    room.ok("ann", say("c5"))


def test_hand_queue_floor_and_share_timer() -> None:
    room = live_room(share_limit_s=60, share_warning_ms=30_000)
    for name in ("ann", "bob", "cat"):
        room.join(name)
        room.ok(name, p.Hand(t="hand", up=True))
    room.ok("bob", p.Hand(t="hand", up=True))  # raising twice keeps one place
    assert room.state.hands == ("ann", "bob", "cat")
    (floor,) = room.ok("host", p.Floor(t="floor"))
    assert isinstance(floor, ev.FloorChanged) and floor.m == "ann"
    assert floor.until == room.now + 60_000
    assert room.state.hands == ("bob", "cat")
    room.now += 29_000
    assert room.ok(None, sys.Tick()) == ()
    room.now += 1_000
    (warn,) = room.ok(None, sys.Tick())
    assert isinstance(warn, ev.FloorWarned)
    assert room.ok(None, sys.Tick()) == ()
    # Someone who joins or resumes now sees the warning in the snapshot.
    bob = room.state.members[MemberId("bob")]
    assert snapshot(room.state, bob)["floor"] == {
        "m": "ann",
        "n": "Ann",
        "until": floor.until,
        "warned": True,
    }
    room.now += 30_000
    (time_up,) = room.ok(None, sys.Tick())
    assert isinstance(time_up, ev.FloorTimeUp)
    assert snapshot(room.state, bob)["floor"]["until"] is None
    assert snapshot(room.state, bob)["floor"]["warned"] is True
    assert room.ok(None, sys.Tick()) == ()
    room.ok("host", p.Floor(t="floor", m=MemberId("cat")))
    assert room.state.floor == "cat" and room.state.hands == ("bob",)
    room.ok("cat", p.Yield(t="yield"))
    assert room.state.floor is None
    assert room.refused("cat", p.Yield(t="yield")) == "no_floor"


def test_remove_with_ban_keeps_device_out() -> None:
    room = live_room()
    room.join("ann", device="dev-1")
    room.ok("host", p.Remove(t="remove", m=MemberId("ann"), ban=True))
    assert MemberId("ann") not in room.state.members
    assert "dev-1" in room.state.banned_devices
    assert getattr(room.join("ann2", name="Annie", device="dev-1"), "code", None) == "banned"
    assert MemberId("ann2") not in room.state.members


def test_names_are_unique_case_insensitively() -> None:
    room = live_room()
    room.join("ann", name="Ann")
    result = room.join("ann2", name="ANN")
    assert getattr(result, "code", None) == "name_taken"


def test_locked_and_full_rooms_refuse_participants_not_facilitators() -> None:
    room = live_room(capacity=2)
    room.ok("host", p.Lock(t="lock", on=True))
    assert getattr(room.join("ann"), "code", None) == "locked"
    room.ok("host", p.Lock(t="lock", on=False))
    room.join("ann")
    assert getattr(room.join("bob"), "code", None) == "full"
    assert isinstance(room.join("co", "cofac"), tuple)


def test_cofacilitators_cannot_act_on_the_host_or_demote() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    room.ok("host", p.SetRole(t="role", m=MemberId("ann"), r="cofac"))
    assert room.refused("ann", p.Remove(t="remove", m=MemberId("host"))) == "not_allowed"
    assert room.refused("ann", p.SetRole(t="role", m=MemberId("bob"), r="member")) == "not_allowed"
    room.ok("ann", p.Mute(t="mute", m=MemberId("bob"), on=True))
    room.ok("host", p.HandOver(t="host", m=MemberId("ann")))
    assert room.state.members[MemberId("ann")].role == "host"
    assert room.state.members[MemberId("host")].role == "cofac"


def test_a_role_change_sticks_to_the_facilitator_account_not_the_device() -> None:
    room = live_room()
    room.join("co", "cofac", name="Cole", account="acc-cole")
    room.join("co2", "cofac", name="Cole", account="acc-cole")  # the same person's phone
    room.join("ann")
    changes = room.ok("host", p.SetRole(t="role", m=MemberId("co"), r="member"))
    assert {(e.m, e.r) for e in changes if isinstance(e, ev.RoleChanged)} == {
        ("co", "member"),
        ("co2", "member"),
    }
    assert room.refused("co2", p.Mute(t="mute", m=MemberId("ann"), on=True)) == "not_allowed"
    # A fresh ticket of the account (issued as co-facilitator) joins as what it is now.
    room.join("co3", "cofac", name="Cole", account="acc-cole")
    assert room.state.members[MemberId("co3")].role == "member"


def test_accounts_taken_off_the_team_lose_their_co_facilitator_role() -> None:
    room = live_room()
    room.join("co", "cofac", name="Cole", account="acc-cole")
    room.join("co2", "cofac", name="Cole", account="acc-cole")
    room.join("dee", "cofac", account="acc-dee")
    changes = room.ok(None, sys.LeftTeam(accounts=frozenset({"acc-cole"})))
    assert {(e.m, e.r) for e in changes if isinstance(e, ev.RoleChanged)} == {
        ("co", "member"),
        ("co2", "member"),
    }
    assert room.state.members[MemberId("dee")].role == "cofac"
    assert room.state.account_roles["acc-cole"] == "member"


def test_the_owner_back_after_a_hand_over_is_not_a_second_host() -> None:
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r")))
    room.join("owner", "host", account="acc-owner")
    room.ok("owner", p.Start(t="start"))
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    room.ok("owner", p.Leave(t="leave"))  # or their link dropped past the resume window
    room.join("owner2", "host", name="Owner", account="acc-owner")
    roles = {m.id: m.role for m in room.state.members.values()}
    assert roles == {"ann": "host", "owner2": "cofac"}


def test_a_host_join_decided_before_a_hand_over_is_applied_as_a_co_facilitator() -> None:
    # Two workers: the owner's new phone is decided on a replica from before the hand-over.
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r")))
    room.join("owner", "host", account="acc-owner")
    room.ok("owner", p.Start(t="start"))
    room.join("ann", "cofac", account="acc-ann")
    before = room.state
    (late,) = room.ok(
        None,
        sys.Join(
            member=MemberId("phone"),
            name="Owner",
            key="owner",
            role="host",
            conn="c-phone",
            account="acc-owner",
        ),
    )
    room.state = before
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    room.state = apply(
        room.state, ev.Envelope(seq=Seq(room.state.seq + 1), at=room.now, event=late)
    )
    assert room.state.members[MemberId("phone")].role == "cofac"
    assert [m.id for m in room.state.members.values() if m.role == "host"] == ["ann"]


def test_hidden_member_list_sends_presence_to_facilitators_and_a_count_to_all() -> None:
    room = live_room(members_visible=False)
    joined, count = room.join("ann")  # type: ignore[misc]
    assert joined.aud == ev.to_member(MemberId("ann"), fac=True)
    assert isinstance(count, ev.Counted) and count.c == 2 and count.aud == ev.ROOM


def test_held_message_is_private_until_approved() -> None:
    room = live_room()
    room.join("ann")
    held, notice = room.ok("ann", sys.Post(cid="c1", text="hm", hold=True, hold_id=HoldId("h1")))
    assert isinstance(held, ev.Held) and held.aud == ev.FAC
    assert isinstance(notice, ev.Noticed) and notice.aud.member == "ann"
    said, done = room.ok("host", p.Review(t="review", h=HoldId("h1"), ok=True))
    assert isinstance(said, ev.Said) and said.aud == ev.ROOM and said.x == "hm"
    assert room.state.holds == {}
    assert room.refused("host", p.Review(t="review", h=HoldId("h1"), ok=True)) == "no_such_hold"


def held_post(cid: str, hold: str) -> sys.Post:
    return sys.Post(cid=cid, text="slur", hold=True, hold_id=HoldId(hold))


def test_held_messages_leave_with_their_author() -> None:
    room = live_room()
    room.join("troll")
    room.join("ann")
    room.ok("troll", held_post("c1", "h1"))
    room.ok("ann", held_post("c2", "h2"))
    events = room.ok("host", p.Remove(t="remove", m=MemberId("troll"), ban=True))
    resolved = [e for e in events if isinstance(e, ev.HoldResolved)]
    assert [(e.h, e.ok, e.aud) for e in resolved] == [("h1", False, ev.FAC)]
    assert set(room.state.holds) == {"h2"}  # others' messages still wait
    assert room.refused("host", p.Review(t="review", h=HoldId("h1"), ok=True)) == "no_such_hold"


def test_a_held_message_sent_again_is_a_duplicate_not_a_second_copy() -> None:
    room = live_room()
    room.join("ann")
    room.ok("ann", held_post("c1", "h1"))
    assert room.refused("ann", held_post("c1", "h2")) == "duplicate"
    assert set(room.state.holds) == {"h1"}
    assert room.state.members[MemberId("ann")].sent == 0  # held is not sent


def test_a_held_message_is_not_approved_while_its_author_is_in_the_lobby() -> None:
    room = live_room()
    room.join("ann")
    room.ok("ann", held_post("c1", "h1"))
    room.ok("host", p.ToLobby(t="to_lobby", m=MemberId("ann")))
    assert room.refused("host", p.Review(t="review", h=HoldId("h1"), ok=True)) == "invalid"
    room.ok("host", p.Review(t="review", h=HoldId("h1"), ok=False))  # rejecting it is fine
    assert room.state.holds == {}


def test_messages_waiting_for_review_are_bounded_per_member() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    for i in range(MAX_HOLDS_PER_MEMBER):
        room.ok("ann", held_post(f"c{i}", f"h{i}"))
    assert room.refused("ann", held_post("more", "hx")) == "review_full"
    room.ok("bob", held_post("b1", "hb"))  # another member's still wait
    room.ok("host", p.Review(t="review", h=HoldId("h0"), ok=False))
    room.ok("ann", held_post("again", "hy"))


def test_a_muted_member_cannot_react_but_may_still_raise_a_hand() -> None:
    room = live_room()
    room.join("ann")
    room.ok("host", p.Mute(t="mute", m=MemberId("ann"), on=True))
    assert room.refused("ann", p.React(t="react", to=Seq(1), r="heart")) == "muted"
    room.ok("ann", p.Hand(t="hand", up=True))  # asking to speak is how to be heard again


def test_sent_to_the_lobby_the_raised_hand_goes_down_for_everyone() -> None:
    room = live_room()
    room.join("ann")
    room.ok("ann", p.Hand(t="hand", up=True))
    hand, *_ = room.ok("host", p.ToLobby(t="to_lobby", m=MemberId("ann")))
    assert isinstance(hand, ev.HandChanged) and not hand.up and hand.aud.room
    assert room.state.hands == ()


def test_the_next_share_goes_to_someone_connected() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    room.ok("ann", p.Hand(t="hand", up=True))
    room.ok("bob", p.Hand(t="hand", up=True))
    room.ok("ann", sys.Disconnect(member=MemberId("ann"), conn="c-ann"))
    (floor,) = room.ok("host", p.Floor(t="floor", m=None))
    assert isinstance(floor, ev.FloorChanged) and floor.m == "bob"
    assert room.state.hands == ("ann",)  # still up for when Ann is back


def test_a_muted_co_facilitator_cannot_post() -> None:
    room = live_room()
    room.join("co", "cofac")
    room.ok("host", p.Mute(t="mute", m=MemberId("co"), on=True))
    assert room.refused("co", say("c1")) == "muted"


def test_starting_a_hidden_list_meeting_sends_the_new_count() -> None:
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), members_visible=False))
    room.join("host", "host")
    for name in ("ann", "bob", "cy"):
        room.join(name)
    events = room.ok("host", p.Start(t="start"))
    counts = [e for e in events if isinstance(e, ev.Counted)]
    assert [c.c for c in counts] == [4] and counts[0].aud == ev.ROOM


def test_hold_without_facilitators_follows_the_fallback() -> None:
    room = live_room()
    room.join("ann")
    room.ok("host", sys.Disconnect(member=MemberId("host"), conn="c-host"))
    blocked = sys.Post(cid="c1", text="x", hold=True, hold_id=HoldId("h"), fallback="block")
    assert room.refused("ann", blocked) == "blocked"
    allowed = replace(blocked, fallback="allow")
    (said,) = room.ok("ann", allowed)
    assert isinstance(said, ev.Said)


def test_crisis_message_is_delivered_with_card_and_alert() -> None:
    room = live_room()
    room.join("ann")
    post = sys.Post(cid="c1", text="...", crisis="suicide", hint="Reach out", card={"t": "x"})
    said, care, alert = room.ok("ann", post)
    assert isinstance(said, ev.Said) and said.aud == ev.ROOM
    assert isinstance(care, ev.CareOffered) and care.aud == ev.to_member(MemberId("ann"))
    assert isinstance(alert, ev.Alerted) and alert.aud == ev.FAC and alert.cid == "c1"


def test_crisis_found_after_delivery_sends_the_same_card_and_alert() -> None:
    room = live_room()
    room.join("ann")
    concern = sys.Concern(cid="c1", crisis="suicide", hint="Reach out", card={"t": "x"})
    assert room.refused("ann", concern) == "not_delivered"  # the message is not in the room
    room.ok("ann", say("c1"))
    care, alert = room.ok("ann", concern)
    post = sys.Post(cid="c2", text="...", crisis="suicide", hint="Reach out", card={"t": "x"})
    _, care2, alert2 = room.ok("ann", post)
    assert care == care2
    assert alert == replace(alert2, cid="c1")


def test_crisis_language_gets_care_whatever_happens_to_the_message() -> None:
    room = live_room(lobby=True)
    room.join("ann")
    room.ok("host", p.Admit(t="admit", m=MemberId("ann")))
    room.join("cat")  # waits in the lobby
    crisis = {"crisis": "suicide", "hint": "Reach out", "card": {"t": "x"}}
    # Held for review while a facilitator is there: care now, not after the review.
    held = sys.Post(cid="c1", text="...", hold=True, hold_id=HoldId("h1"), **crisis)  # type: ignore[arg-type]
    events = room.ok("ann", held)
    assert [type(e) for e in events] == [ev.Held, ev.Noticed, ev.CareOffered, ev.Alerted]
    # Refused (muted here; the endpoint does the same for the lobby, a closed chat, slow mode
    # and a blocked message): the message never reaches the room, its care is decided anyway.
    room.ok("host", p.Mute(t="mute", m=MemberId("ann"), on=True))
    assert room.refused("ann", sys.Post(cid="c2", text="...", **crisis)) == "muted"  # type: ignore[arg-type]
    undelivered = sys.Concern(cid="c2", delivered=False, **crisis)  # type: ignore[arg-type]
    care, alert = room.ok("ann", undelivered)
    assert care.aud == ev.to_member(MemberId("ann")) and alert.aud == ev.FAC
    care, alert = room.ok("cat", replace(undelivered, cid="c3"))
    assert isinstance(care, ev.CareOffered) and care.aud == ev.to_member(MemberId("cat"))
    assert isinstance(alert, ev.Alerted) and alert.m == "cat"


def test_a_report_names_a_message_that_exists() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    beyond = Seq(room.state.seq + 1)
    assert room.refused("ann", p.Report(t="report", m=MemberId("bob"), to=beyond)) == "invalid"


def test_reports_go_to_facilitators_without_the_reporter() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    report, ack = room.ok("ann", p.Report(t="report", m=MemberId("bob"), to=Seq(1), why="rude"))
    assert isinstance(report, ev.Reported) and report.aud == ev.FAC
    assert "by" not in report.WIRE
    assert ack.aud == ev.to_member(MemberId("ann"))


def test_block_is_private_and_recorded() -> None:
    room = live_room()
    room.join("ann")
    room.join("bob")
    (blocked,) = room.ok("ann", p.Block(t="block", m=MemberId("bob")))
    assert blocked.aud == ev.to_member(MemberId("ann"))
    assert room.state.members[MemberId("ann")].blocks == {"bob"}
    room.ok("ann", p.Unblock(t="unblock", m=MemberId("bob")))
    assert room.state.members[MemberId("ann")].blocks == frozenset()


def test_away_members_time_out_after_the_resume_window() -> None:
    room = live_room(resume_window_ms=10_000)
    room.join("ann")
    room.ok("ann", sys.Disconnect(member=MemberId("ann"), conn="c-ann"))
    assert not room.state.members[MemberId("ann")].present
    room.now += 9_999
    assert room.ok(None, sys.Tick()) == ()
    room.now += 1
    (left,) = room.ok(None, sys.Tick())
    assert isinstance(left, ev.Left) and left.why == "timeout"


def test_stale_disconnect_after_resume_changes_nothing() -> None:
    room = live_room()
    room.join("ann")
    room.ok("ann", sys.Reconnect(member=MemberId("ann"), conn="c-new"))
    assert room.ok("ann", sys.Disconnect(member=MemberId("ann"), conn="c-ann")) == ()
    assert room.state.members[MemberId("ann")].present


def test_end_rejects_everything_after() -> None:
    room = live_room()
    room.join("ann")
    room.ok("host", p.End(t="end"))
    assert room.state.phase == "ended"
    assert room.refused("ann", say()) == "ended"
    assert room.ok(None, sys.Tick()) == ()


def test_log_refold_equals_incremental_state() -> None:
    room = live_room(lobby=True, share_limit_s=60)
    room.join("ann")
    room.ok("host", p.AdmitAll(t="admit_all"))
    room.ok("ann", p.Hand(t="hand", up=True))
    room.ok("host", p.Floor(t="floor"))
    room.ok("ann", say())
    assert refold(room.config, room.log) == room.state


def test_an_empty_room_ends_by_itself_after_the_idle_time() -> None:
    room = live_room(idle_end_ms=60_000)
    room.ok("host", p.Leave(t="leave"))
    assert room.state.empty_since == room.now
    room.now += 59_999
    assert room.ok(None, sys.Tick()) == ()
    room.now += 1
    (ended,) = room.ok(None, sys.Tick())
    assert isinstance(ended, ev.PhaseChanged) and ended.p == "ended"


def test_banning_a_member_bans_every_name_their_device_holds() -> None:
    room = live_room()
    room.join("ann", device="dev-1")
    room.join("alt", name="Alt", device="dev-1")
    room.join("bob", device="dev-2")
    room.ok("host", p.Remove(t="remove", m=MemberId("ann"), ban=True))
    assert set(room.state.members) == {"host", "bob"}
    assert room.state.banned == {"ann", "alt"}


def test_after_message_changes_only_the_message_counters() -> None:
    from app.rooms.state import Member

    member = Member(
        id=MemberId("a"),
        name="A",
        key="a",
        role="cofac",
        lobby=False,
        conn="c",
        joined_at=1,
        away_since=2,
        admitted_at=Seq(3),
        muted=True,
        trusted=True,
        sent=4,
        last_msg_at=5,
        recent_cids=("x",),
        blocks=frozenset({MemberId("b")}),
        device="d",
        account="acc",
    )
    expected = replace(member, sent=5, last_msg_at=9, recent_cids=("x", "y"))
    assert member.after_message(9, "y") == expected


def test_a_facilitator_account_may_join_twice_but_nobody_may_take_its_name() -> None:
    room = live_room()
    room.join("co", "cofac", name="Chair", account="acc-1")
    assert isinstance(room.join("co2", "cofac", name="Chair", account="acc-1"), tuple)
    assert getattr(room.join("x", "cofac", name="Chair", account="acc-2"), "code", None) == (
        "name_taken"
    )
    assert getattr(room.join("y", name="chair"), "code", None) == "name_taken"


def _fold(*events: ev.RoomEvent, config: RoomConfig) -> RoomState:
    state = RoomState(config=config)
    for seq, event in enumerate(events, start=1):
        state = apply(state, ev.Envelope(seq=Seq(seq), at=1000 + seq, event=event))
    return state


def _joined(name: str, *, lob: bool) -> ev.Joined:
    return ev.Joined(
        m=MemberId(name),
        n=name,
        r="member",
        lob=lob,
        conn=f"c-{name}",
        joined_at=1,
        key=name,
        aud=ev.Audience(lobby=True, fac=True),
    )


def test_joins_racing_the_start_on_another_worker_are_not_stranded_in_the_lobby() -> None:
    """Two workers: a join decided for the lobby lands just after the start, and one that
    landed just before it was not in the start's list of members to admit."""
    config = RoomConfig(meeting_id=MeetingId("r"), lobby=False)
    start = ev.PhaseChanged(p="live", aud=ev.ROOM_AND_LOBBY)
    state = _fold(_joined("early", lob=True), start, _joined("late", lob=True), config=config)
    assert not state.members[MemberId("early")].lobby
    assert not state.members[MemberId("late")].lobby
    assert state.members[MemberId("late")].admitted_at == Seq(3)
    # A meeting with a lobby keeps them waiting for a facilitator, as it should.
    with_lobby = replace(config, lobby=True)
    state = _fold(_joined("early", lob=True), start, _joined("late", lob=True), config=with_lobby)
    assert state.members[MemberId("early")].lobby and state.members[MemberId("late")].lobby
