"""Moderation that sticks to the person: bans and removals of facilitator accounts, mutes
across a new ticket, the owner's hold on their meeting, and one seat per person."""

from __future__ import annotations

from app.rooms import commands as sys
from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.state import RoomConfig
from app.rooms.types import HoldId, MeetingId, MemberId

from .harness import PureRoom, refold


def owned_room(**config: object) -> PureRoom:
    """A live meeting hosted by its owner (account ``acc-owner``)."""
    room = PureRoom(
        config=RoomConfig(meeting_id=MeetingId("r"), owner="acc-owner", **config)  # type: ignore[arg-type]
    )
    room.join("owner", "host", account="acc-owner")
    room.ok("owner", p.Start(t="start"))
    return room


def code_of(result: object) -> str | None:
    return getattr(result, "code", None)


def roles(room: PureRoom) -> dict[str, str]:
    return {m.id: m.role for m in room.state.members.values()}


def test_a_banned_co_facilitator_account_does_not_get_back_in_from_another_device() -> None:
    room = owned_room()
    room.join("co", "cofac", name="Cole", account="acc-cole", device="phone")
    room.ok("owner", p.Remove(t="remove", m=MemberId("co"), ban=True))
    # Another browser, or no device at all: the account is what is banned.
    assert code_of(room.join("co2", "cofac", name="Cole", account="acc-cole")) == "banned"
    assert code_of(room.join("co3", "cofac", name="Cole", account="acc-cole", device="x")) == (
        "banned"
    )
    assert "acc-cole" in room.state.banned_accounts
    assert refold(room.config, room.log) == room.state


def test_a_removed_co_facilitator_comes_back_as_a_participant_and_the_lock_holds() -> None:
    room = owned_room(lobby=True)
    room.join("co", "cofac", name="Cole", account="acc-cole")
    room.join("co-phone", "cofac", name="Cole", account="acc-cole")
    left = room.ok("owner", p.Remove(t="remove", m=MemberId("co"), ban=False))
    # Every device of the account goes.
    assert {e.m for e in left if isinstance(e, ev.Left)} == {"co", "co-phone"}
    room.ok("owner", p.Lock(t="lock", on=True))
    assert code_of(room.join("co2", "cofac", name="Cole", account="acc-cole")) == "locked"
    room.ok("owner", p.Lock(t="lock", on=False))
    room.join("co3", "cofac", name="Cole", account="acc-cole")
    back = room.state.members[MemberId("co3")]
    assert back.role == "member" and back.lobby  # waits to be admitted like anyone
    assert code_of(room.run("co3", p.End(t="end"))) is not None
    assert room.state.phase == "live"


def test_the_owner_hosts_again_when_the_host_they_handed_over_to_leaves() -> None:
    room = owned_room()
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    assert roles(room) == {"owner": "cofac", "ann": "host"}
    events = room.ok("ann", p.Leave(t="leave"))
    assert any(isinstance(e, ev.RoleChanged) and e.m == "owner" and e.r == "host" for e in events)
    assert roles(room) == {"owner": "host"}
    assert refold(room.config, room.log) == room.state


def test_the_owner_back_in_a_meeting_nobody_hosts_is_its_host() -> None:
    room = owned_room()
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    room.ok("owner", p.Leave(t="leave"))
    room.ok("ann", p.Leave(t="leave"))
    room.join("co", "cofac", account="acc-co")
    room.join("owner2", "host", name="Owner", account="acc-owner")
    assert roles(room) == {"co": "cofac", "owner2": "host"}


def test_nobody_mutes_demotes_or_removes_the_owner_of_the_meeting() -> None:
    room = owned_room()
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    owner = MemberId("owner")
    assert room.refused("ann", p.Mute(t="mute", m=owner, on=True)) == "not_allowed"
    assert room.refused("ann", p.SetRole(t="role", m=owner, r="member")) == "not_allowed"
    assert room.refused("ann", p.Remove(t="remove", m=owner, ban=True)) == "not_allowed"
    room.ok("ann", p.Lock(t="lock", on=True))
    room.ok("owner", p.Leave(t="leave"))
    # Locked, and the owner's ticket still gets in (as co-facilitator while Ann hosts).
    room.join("owner2", "host", name="Owner", account="acc-owner")
    assert room.state.members[MemberId("owner2")].role == "cofac"


def test_a_mentor_on_two_devices_takes_one_seat_of_a_one_to_one_meeting() -> None:
    room = owned_room(capacity=2)
    room.join("phone", "host", name="Owner", account="acc-owner")
    assert isinstance(room.join("mentee"), tuple)
    assert room.state.seats_taken() == 2
    assert code_of(room.join("third")) == "full"


def test_a_mute_outlives_leaving_and_coming_back_on_the_same_device() -> None:
    room = owned_room()
    room.join("troll", device="dev-t")
    room.ok("owner", p.Mute(t="mute", m=MemberId("troll"), on=True))
    room.ok("troll", p.Leave(t="leave"))
    events = room.join("troll2", name="Troll", device="dev-t")
    assert isinstance(events, tuple)
    assert any(isinstance(e, ev.Muted) and e.m == "troll2" and e.on for e in events)
    assert room.state.members[MemberId("troll2")].muted
    assert room.refused("troll2", p.React(t="react", to=1, r="heart")) == "muted"
    room.ok("owner", p.Mute(t="mute", m=MemberId("troll2"), on=False))
    room.ok("troll2", p.Leave(t="leave"))
    room.join("troll3", name="Troll", device="dev-t")
    assert not room.state.members[MemberId("troll3")].muted
    assert refold(room.config, room.log) == room.state


def test_a_muted_co_facilitator_stays_muted_when_demoted_and_cannot_talk_to_the_lobby() -> None:
    room = owned_room(lobby=True)
    room.join("co", "cofac", account="acc-co")
    room.ok("owner", p.Mute(t="mute", m=MemberId("co"), on=True))
    assert room.refused("co", p.LobbySay(t="lobby_say", x="hello")) == "muted"
    room.ok("owner", p.SetRole(t="role", m=MemberId("co"), r="member"))
    assert room.state.members[MemberId("co")].muted
    # Handed the meeting, a member is unmuted: a host cannot be muted.
    room.ok("owner", p.HandOver(t="host", m=MemberId("co")))
    assert not room.state.members[MemberId("co")].muted
    assert not room.state.muted_accounts


def test_reactions_follow_the_chat_when_only_facilitators_may_post() -> None:
    room = owned_room()
    room.join("ann")
    room.ok("owner", p.MuteAll(t="mute_all", on=True))
    assert room.refused("ann", p.React(t="react", to=1, r="heart")) == "chat_closed"
    # Facilitators may still post, and so react.
    room.ok("owner", p.React(t="react", to=1, r="heart"))
    room.ok("owner", p.MuteAll(t="mute_all", on=False))
    room.ok("ann", p.React(t="react", to=1, r="heart"))


def test_a_revoked_facilitator_leaves_and_the_owner_hosts_again() -> None:
    room = owned_room()
    room.join("ann", "cofac", account="acc-ann")
    room.join("ann-phone", "cofac", name="Ann", account="acc-ann")
    room.join("sam")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    events = room.ok(None, sys.Revoked(members=frozenset({MemberId("ann"), MemberId("ann-phone")})))
    assert {(e.m, e.why) for e in events if isinstance(e, ev.Left)} == {
        ("ann", "revoked"),
        ("ann-phone", "revoked"),
    }
    # One hand-back, to the owner, once both of Ann's devices are gone.
    assert [(e.m, e.r) for e in events if isinstance(e, ev.RoleChanged)] == [("owner", "host")]
    assert roles(room) == {"owner": "host", "sam": "member"}
    # Not a ban: Ann's account comes back with a new ticket, as what the team says.
    room.join("ann2", "cofac", name="Ann", account="acc-ann")
    assert room.state.members[MemberId("ann2")].role == "cofac"
    # A participant is never "revoked"; a repeat is decided as nothing.
    assert room.ok(None, sys.Revoked(members=frozenset({MemberId("sam"), MemberId("ann")}))) == ()
    assert refold(room.config, room.log) == room.state


def test_a_host_taken_off_the_team_is_demoted_and_the_owner_hosts_again() -> None:
    room = owned_room()
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    events = room.ok(None, sys.LeftTeam(accounts=frozenset({"acc-ann"})))
    assert [(e.m, e.r) for e in events if isinstance(e, ev.RoleChanged)] == [
        ("ann", "member"),
        ("owner", "host"),
    ]
    assert roles(room) == {"owner": "host", "ann": "member"}


def test_the_same_browser_back_under_its_name_takes_over_its_old_member() -> None:
    """A join whose welcome was lost on a bad link: the browser asks for a new ticket under
    the same name. Its old member leaves, instead of locking the person out of their name."""
    room = owned_room()
    room.join("sam", name="Sam", device="dev-s")
    events = room.join("sam2", name="Sam", device="dev-s")
    assert isinstance(events, tuple)
    assert [(type(e).__name__, e.m) for e in events if isinstance(e, ev.Left | ev.Joined)] == [
        ("Left", "sam"),
        ("Joined", "sam2"),
    ]
    assert next(e for e in events if isinstance(e, ev.Left)).why == "replaced"
    assert set(room.state.members) == {"owner", "sam2"}
    # Another browser does not: the name is someone else's.
    assert code_of(room.join("eve", name="Sam", device="dev-e")) == "name_taken"
    assert code_of(room.join("eve", name="Sam")) == "name_taken"
    # Nor into a locked meeting: the old member stays (it may still resume).
    room.ok("owner", p.Lock(t="lock", on=True))
    assert code_of(room.join("sam3", name="Sam", device="dev-s")) == "locked"
    assert "sam2" in room.state.members
    assert refold(room.config, room.log) == room.state


def test_a_held_message_approved_after_its_author_was_muted_still_goes_out() -> None:
    room = owned_room()
    room.join("ann")
    room.ok("ann", sys.Post(cid="c1", text="my first share", hold=True, hold_id=HoldId("h1")))
    room.ok("owner", p.Mute(t="mute", m=MemberId("ann"), on=True))
    before = room.state.members[MemberId("ann")].sent
    room.ok("owner", p.Review(t="review", h=HoldId("h1"), ok=True))
    assert room.state.members[MemberId("ann")].sent == before + 1
    assert not room.state.holds


def test_the_owner_never_joins_muted_even_from_a_muted_device() -> None:
    room = owned_room()
    room.join("kid", device="family-tablet")
    room.ok("owner", p.Mute(t="mute", m=MemberId("kid"), on=True))
    room.join("ann", "cofac", account="acc-ann")
    room.ok("owner", p.HandOver(t="host", m=MemberId("ann")))
    room.join("owner-tablet", "host", name="Owner", account="acc-owner", device="family-tablet")
    back = room.state.members[MemberId("owner-tablet")]
    assert back.role == "cofac" and not back.muted
