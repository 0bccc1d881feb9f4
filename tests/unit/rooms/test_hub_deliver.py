"""An event that cannot be encoded is skipped; the room's delivery goes on for everyone."""

from __future__ import annotations

import logging
from dataclasses import replace

import orjson
import pytest

from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.connection import Outgoing
from app.rooms.events import Envelope
from app.rooms.hub import Counters, RoomChannel
from app.rooms.state import RoomConfig
from app.rooms.types import HoldId, MeetingId, MemberId, Seq

from .harness import PureRoom


class Recorder:
    def __init__(self, member: str) -> None:
        self.id = f"c-{member}"
        self.member = MemberId(member)
        self.closed = False
        self.got: list[bytes] = []

    def push(self, items: list[Outgoing]) -> None:
        self.got += [item.payload for item in items]

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True


async def _never(_: RoomChannel) -> None:
    raise AssertionError("the room did not end")


def live_room() -> tuple[PureRoom, RoomChannel]:
    """A live meeting with its host and Ann, and a channel on its state (no log behind it)."""
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r")))
    room.join("host", "host")
    room.ok("host", p.Start(t="start"))
    room.join("ann")
    channel = RoomChannel(
        meeting_id=MeetingId("r"), log=None, state=room.state, counters=Counters(), on_ended=_never
    )  # type: ignore[arg-type]
    return room, channel


def test_an_event_that_cannot_be_encoded_is_skipped_and_delivery_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    room, channel = live_room()
    host, ann = Recorder("host"), Recorder("ann")
    channel.conns = {host.member: host, ann.member: ann}  # type: ignore[dict-item]
    seq = room.state.seq
    broken = ev.Said(m=MemberId("ann"), n="Ann", x="\ud800", cid="c1", aud=ev.ROOM)
    fine = ev.Said(m=MemberId("ann"), n="Ann", x="still here", cid="c2", aud=ev.ROOM)
    with caplog.at_level(logging.ERROR, logger="haven.rooms"):
        channel.deliver([Envelope(Seq(seq + 1), 1, broken), Envelope(Seq(seq + 2), 2, fine)])
    assert channel.state.seq == seq + 2
    for member in (host, ann):
        assert len(member.got) == 1 and b"still here" in member.got[0]
    assert "not deliverable: msg TypeError" in caplog.text
    assert "\ud800" not in caplog.text


def test_an_away_for_a_link_the_member_no_longer_uses_is_applied_and_not_delivered() -> None:
    """Another worker decided ``away`` for Ann's old link while she came back on a new one:
    the reducer folds it as nothing, and nobody is told she went."""
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    ann = room.state.members[MemberId("ann")]
    stale = ev.Away(m=ann.id, conn="an-old-link", aud=ev.ROOM)
    current = ev.Away(m=ann.id, conn=ann.conn or "", aud=ev.ROOM)
    channel.deliver([Envelope(Seq(seq + 1), 1, stale)])
    assert channel.state.seq == seq + 1 and host.got == []
    assert channel.state.members[ann.id].present
    channel.deliver([Envelope(Seq(seq + 2), 2, current)])
    assert len(host.got) == 1 and b'"away"' in host.got[0]
    assert not channel.state.members[ann.id].present


def test_the_floor_given_to_someone_removed_a_moment_before_is_told_to_nobody() -> None:
    """Two workers: the host removes Ann on one while a co-facilitator gives her the floor on
    the other. The log holds the removal, then the floor: the reducer drops the floor, and
    nobody is shown Ann sharing (which no later ``floor_end`` could clear)."""
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    ann = MemberId("ann")
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, ev.Left(m=ann, why="removed", aud=ev.ROOM)),
            Envelope(Seq(seq + 2), 2, ev.FloorChanged(m=ann, n="Ann", until=None, aud=ev.ROOM)),
            Envelope(Seq(seq + 3), 3, ev.Admitted(m=ann, n="Ann", aud=ev.ROOM)),
            Envelope(Seq(seq + 4), 4, ev.Said(m=ann, n="Ann", x="late", cid="c9", aud=ev.ROOM)),
        ]
    )
    assert channel.state.seq == seq + 4 and channel.state.floor is None
    assert len(host.got) == 1 and b'"leave"' in host.got[0]


def test_crisis_care_for_someone_who_has_left_is_still_told() -> None:
    """Stale-looking events that change no state are told as they are: an alert about a
    member who left at once still reaches the facilitators."""
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    ann = MemberId("ann")
    alert = ev.Alerted(kind="suicide", m=ann, n="Ann", cid="c1", hint="", aud=ev.FAC)
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, ev.Left(m=ann, why="left", aud=ev.ROOM)),
            Envelope(Seq(seq + 2), 2, alert),
        ]
    )
    assert len(host.got) == 2 and b'"alert"' in host.got[1]


def test_a_message_resent_before_its_first_copy_was_applied_is_delivered_once() -> None:
    """The same ``say`` twice back to back (or on two links) is decided twice against a
    replica that has not applied the first: the second copy is folded as nothing."""
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    said = ev.Said(m=MemberId("ann"), n="Ann", x="hello once", cid="c1", aud=ev.ROOM)
    channel.deliver([Envelope(Seq(seq + 1), 1, said), Envelope(Seq(seq + 2), 2, said)])
    assert channel.state.seq == seq + 2
    assert len(host.got) == 1 and channel.state.members[MemberId("ann")].sent == 1


def test_a_message_decided_before_a_mute_it_lands_after_is_told_to_nobody() -> None:
    """Two workers: Ann's message is decided on one just before the host mutes her (or closes
    the chat) on the other, and lands after the mute. The room does not get it."""
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    ann = MemberId("ann")

    def said(cid: str, who: MemberId = ann) -> ev.Said:
        return ev.Said(m=who, n="x", x="late", cid=cid, aud=ev.ROOM)

    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, ev.Muted(m=ann, on=True, aud=ev.ROOM)),
            Envelope(Seq(seq + 2), 2, said("c1")),
            Envelope(Seq(seq + 3), 3, ev.Muted(m=ann, on=False, aud=ev.ROOM)),
            Envelope(Seq(seq + 4), 4, ev.MutedAll(on=True, aud=ev.ROOM)),
            Envelope(Seq(seq + 5), 5, said("c2")),
            Envelope(Seq(seq + 6), 6, said("h1", MemberId("host"))),
        ]
    )
    kinds = [frame.split(b'"t":"', 1)[1].split(b'"', 1)[0] for frame in host.got]
    assert kinds == [b"mute", b"mute", b"mute_all", b"msg"]
    assert b'"cid":"h1"' in host.got[-1]


def test_a_held_message_of_someone_who_left_leaves_the_review_lists_and_stale_seqs_are_kept() -> (
    None
):
    room, channel = live_room()
    host = Recorder("host")
    channel.conns = {host.member: host}  # type: ignore[dict-item]
    seq = room.state.seq
    ann = MemberId("ann")
    held = ev.Held(
        h=HoldId("h1"), m=ann, n="Ann", x="held text", cid="c1", why=("pii.phone",), aud=ev.FAC
    )
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, held),
            Envelope(Seq(seq + 2), 2, ev.Left(m=ann, why="left", aud=ev.ROOM)),
            Envelope(
                Seq(seq + 3), 3, ev.HoldResolved(h=HoldId("h1"), ok=False, cid="c1", aud=ev.FAC)
            ),
            Envelope(Seq(seq + 4), 4, ev.FloorChanged(m=ann, n="Ann", until=None, aud=ev.ROOM)),
        ]
    )
    kinds = [frame.split(b'"t":"', 1)[1].split(b'"', 1)[0] for frame in host.got]
    assert kinds == [b"held", b"leave", b"hold_done"]
    # The floor for someone gone is kept out of a resume's replay too.
    assert channel.stale == {seq + 4}


def _frames(recorder: Recorder) -> list[dict[str, object]]:
    return [orjson.loads(frame) for frame in recorder.got]


def test_a_message_decided_before_a_mute_was_applied_is_refused_to_its_writer_alone() -> None:
    """Ann's message was decided on a replica that had not applied her mute yet: folded as
    nothing, nobody sees it, and Ann's link is told why (its ``cid`` ends her wait)."""
    room, channel = live_room()
    host, ann = Recorder("host"), Recorder("ann")
    channel.conns = {host.member: host, ann.member: ann}  # type: ignore[dict-item]
    seq = room.state.seq
    said = ev.Said(m=MemberId("ann"), n="Ann", x="hello", cid="c1", aud=ev.ROOM)
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, ev.Muted(m=MemberId("ann"), on=True, aud=ev.ROOM)),
            Envelope(Seq(seq + 2), 2, said),
        ]
    )
    assert [f["t"] for f in _frames(host)] == ["mute"]
    assert _frames(ann)[1:] == [
        {"t": "error", "code": "muted", "msg": "A facilitator has muted you for now.", "cid": "c1"}
    ]
    assert channel.stale == {seq + 2}


def test_a_message_decided_before_the_chat_closed_is_refused_and_a_resent_copy_is_not() -> None:
    room, channel = live_room()
    ann = Recorder("ann")
    channel.conns = {ann.member: ann}  # type: ignore[dict-item]
    seq = room.state.seq
    first = ev.Said(m=MemberId("ann"), n="Ann", x="hello", cid="c1", aud=ev.ROOM)
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, first),
            # A second copy of c1 (two links): the first copy answered it; nothing to tell.
            Envelope(Seq(seq + 2), 2, first),
            Envelope(Seq(seq + 3), 3, ev.MutedAll(on=True, aud=ev.ROOM)),
            Envelope(Seq(seq + 4), 4, replace(first, cid="c2")),
        ]
    )
    frames = _frames(ann)
    assert [f["t"] for f in frames] == ["msg", "mute_all", "error"]
    assert frames[-1]["code"] == "chat_closed" and frames[-1]["cid"] == "c2"


def test_a_private_message_applied_after_the_last_facilitator_left_is_refused_to_its_writer() -> (
    None
):
    room, channel = live_room()
    ann = Recorder("ann")
    channel.conns = {ann.member: ann}  # type: ignore[dict-item]
    seq = room.state.seq
    dm = ev.PrivateSaid(
        m=MemberId("ann"), w=MemberId("ann"), n="Ann", x="are you there?", cid="d1", aud=ev.FAC
    )
    channel.deliver(
        [
            Envelope(Seq(seq + 1), 1, ev.Left(m=MemberId("host"), why="left", aud=ev.ROOM)),
            Envelope(Seq(seq + 2), 2, dm),
        ]
    )
    frames = _frames(ann)
    assert frames[-1] == {
        "t": "error",
        "code": "no_facilitator",
        "msg": "No facilitator is in this meeting right now.",
        "cid": "d1",
    }
    assert not any(f["t"] == "dm" for f in frames)


@pytest.mark.parametrize(
    ("before", "code"),
    [
        (ev.RoleChanged(m=MemberId("co"), r="member", aud=ev.ROOM), "not_allowed"),
        (ev.Muted(m=MemberId("co"), on=True, aud=ev.ROOM), "muted"),
        (ev.Left(m=MemberId("ann"), why="left", aud=ev.ROOM), "no_such_member"),
    ],
)
def test_a_facilitators_private_message_folded_as_nothing_is_refused_to_them(
    before: ev.RoomEvent, code: str
) -> None:
    """Demoted or muted before their message was applied, or the member left first."""
    room, channel = live_room()
    room.join("co", "cofac", name="Co")
    channel.state = room.state
    co, ann = Recorder("co"), Recorder("ann")
    channel.conns = {co.member: co, ann.member: ann}  # type: ignore[dict-item]
    seq = room.state.seq
    dm = ev.PrivateSaid(
        m=MemberId("ann"), w=MemberId("co"), n="Co", x="how are you?", cid="d1", aud=ev.FAC
    )
    channel.deliver([Envelope(Seq(seq + 1), 1, before), Envelope(Seq(seq + 2), 2, dm)])
    assert _frames(co)[-1]["t"] == "error"
    assert _frames(co)[-1]["code"] == code and _frames(co)[-1]["cid"] == "d1"
    assert not any(f["t"] == "dm" for f in _frames(ann))
    assert channel.stale == {seq + 2}
