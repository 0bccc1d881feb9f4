"""Proofs of attendance: codes that carry their facts, vouched for by the server's key."""

from __future__ import annotations

import secrets

import pytest

from app.rooms import events as ev
from app.rooms import protocol as p
from app.rooms.attendance import CODE_CHARS, MAX_MINUTES, SlipSigner, printable_name
from app.rooms.state import RoomConfig
from app.rooms.types import MeetingId, MemberId

from .harness import PureRoom

MEETING = "svjw1piWnplp"
T0 = 1_764_000_000_000  # a whole minute, in ms
SIGNER = SlipSigner("a server secret")


def test_a_slip_checks_out_with_its_name_and_carries_its_facts() -> None:
    slip = SIGNER.issue(MEETING, "Jane Q. Public", T0 + 20_000, T0 + 61 * 60_000)
    assert len(slip.code.replace("-", "")) == CODE_CHARS
    assert len(slip.code.split("-")) == 8  # groups of five, to read aloud or type
    checked = SIGNER.verify(slip.code, "Jane Q. Public")
    assert checked == slip
    assert (checked.meeting, checked.entered_ms, checked.minutes) == (MEETING, T0, 61)
    assert checked.until_ms == T0 + 61 * 60_000


def test_typing_it_from_paper_is_forgiving_of_case_spaces_and_look_alikes() -> None:
    slip = SIGNER.issue(MEETING, "Jane Q. Public", T0, T0 + 60 * 60_000)
    typed = slip.code.lower().replace("-", " ").replace("o", "0").replace("i", "1")
    assert SIGNER.verify(typed, "  jane q.   PUBLIC ") == slip


@pytest.mark.parametrize("name", ["Jane Public", "Jane Q. Publik", "John Q. Public", ""])
def test_another_name_does_not_check_out(name: str) -> None:
    slip = SIGNER.issue(MEETING, "Jane Q. Public", T0, T0 + 60 * 60_000)
    assert SIGNER.verify(slip.code, name) is None


def test_a_changed_time_another_meeting_or_another_server_does_not_check_out() -> None:
    slip = SIGNER.issue(MEETING, "Sam", T0, T0 + 60 * 60_000)
    compact = slip.code.replace("-", "")
    for i in range(CODE_CHARS):
        changed = compact[:i] + ("A" if compact[i] != "A" else "B") + compact[i + 1 :]
        assert SIGNER.verify(changed, "Sam") is None, i
    assert SlipSigner("another secret").verify(slip.code, "Sam") is None
    assert SIGNER.verify(compact[:-1], "Sam") is None
    assert SIGNER.verify("not a code at all, not even close to one!", "Sam") is None
    assert SIGNER.verify("!" * CODE_CHARS, "Sam") is None


def test_minutes_are_bounded_and_every_real_meeting_id_fits() -> None:
    slip = SIGNER.issue(MEETING, "Sam", T0, T0 - 60_000)  # a clock that went back
    assert slip.minutes == 0
    slip = SIGNER.issue(MEETING, "Sam", T0, T0 + (MAX_MINUTES + 5) * 60_000)
    assert slip.minutes == MAX_MINUTES
    for _ in range(200):
        meeting = secrets.token_urlsafe(9)  # how meeting ids are made
        slip = SIGNER.issue(meeting, "Sam", T0, T0 + 60_000)
        checked = SIGNER.verify(slip.code, "Sam")
        assert checked is not None and checked.meeting == meeting
    with pytest.raises(ValueError):
        SIGNER.issue("room", "Sam", T0, T0)


def test_a_printable_name() -> None:
    assert printable_name("  Jane \t Q.\u00a0Public ") == "Jane Q. Public"
    assert printable_name("Zoë Ünal") == "Zoë Ünal"
    assert printable_name("Jane\u202eevil") is None  # a bidi override
    assert printable_name("Jane\x00") is None
    assert printable_name("x" * 81) is None


def test_the_slip_starts_when_the_member_comes_into_the_room() -> None:
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), lobby=True))
    room.join("host", "host")
    assert room.state.members[MemberId("host")].entered_at == room.now
    room.ok("host", p.Start(t="start"))
    room.join("ann")
    assert room.state.members[MemberId("ann")].entered_at is None  # waiting is not attending
    room.now += 60_000
    room.ok("host", p.Admit(t="admit", m=MemberId("ann")))
    admitted = room.now
    assert room.state.members[MemberId("ann")].entered_at == admitted
    room.now += 60_000
    room.ok("host", p.ToLobby(t="to_lobby", m=MemberId("ann")))
    assert room.state.members[MemberId("ann")].entered_at is None
    room.now += 60_000
    events = room.ok("host", p.Admit(t="admit", m=MemberId("ann")))
    assert isinstance(events[0], ev.Admitted)
    assert room.state.members[MemberId("ann")].entered_at == room.now


def test_the_code_does_not_give_the_meeting_id_away() -> None:
    # The id is the way into an unlisted meeting, and a slip goes to courts and files.
    import base64

    slip = SIGNER.issue(MEETING, "Sam", T0, T0 + 60 * 60_000)
    raw = base64.b32decode(slip.code.replace("-", ""))
    assert base64.urlsafe_b64decode(MEETING) not in raw
    assert T0 // 60_000 not in {int.from_bytes(raw[i : i + 4], "big") for i in range(22)}
    # Two slips of the same meeting share nothing a reader could spot.
    other = SIGNER.issue(MEETING, "Kim", T0, T0 + 60 * 60_000)
    assert slip.code[:10] != other.code[:10]


@pytest.mark.parametrize(
    ("printed", "typed"),
    [
        ("Siobhán O’Brien", "Siobhan O'Brien"),
        ("Anne–Marie Smith", "anne-marie smith"),
        ("José Núñez", "Jose Nunez"),
        ("Zoë  Ünal", "ZOE UNAL"),
        ("Łukasz Søndergård", "lukasz sondergard"),
    ],
)
def test_the_name_checks_out_as_the_person_checking_types_it(printed: str, typed: str) -> None:
    slip = SIGNER.issue(MEETING, printed, T0, T0 + 60 * 60_000)
    assert SIGNER.verify(slip.code, typed) == slip


def test_the_same_browser_back_under_its_name_keeps_its_time_in_the_room() -> None:
    # A phone that killed the tab, or a join whose welcome was lost: the slip still counts
    # from when the person first came in, also through the lobby.
    for lobby in (False, True):
        room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), lobby=lobby))
        room.join("host", "host")
        room.ok("host", p.Start(t="start"))
        assert room.state.live_since == room.now
        room.join("ann", device="phone")
        if lobby:
            room.now += 60_000
            room.ok("host", p.Admit(t="admit", m=MemberId("ann")))
        came_in = room.now
        room.now += 55 * 60_000
        room.join("ann2", name="Ann", device="phone")
        if lobby:
            assert room.state.members[MemberId("ann2")].lobby
            room.ok("host", p.Admit(t="admit", m=MemberId("ann2")))
        assert MemberId("ann") not in room.state.members
        assert room.state.members[MemberId("ann2")].entered_at == came_in


def test_the_meeting_remembers_when_it_first_went_live() -> None:
    room = PureRoom(config=RoomConfig(meeting_id=MeetingId("r"), lobby=True))
    room.join("host", "host")
    assert room.state.live_since is None
    room.now += 60_000
    room.ok("host", p.Start(t="start"))
    started = room.now
    room.now += 60_000
    room.ok("host", p.Start(t="start"))  # already live: nothing changes
    assert room.state.live_since == started


@pytest.mark.parametrize(
    ("printed", "other"),
    [("ボブ", "ホフ"), ("ごとう", "ことう"), ("ไก่", "ไก้"), ("Ana", "Ána María")],
)
def test_marks_that_make_another_letter_make_another_name(printed: str, other: str) -> None:
    slip = SIGNER.issue(MEETING, printed, T0, T0 + 60 * 60_000)
    assert SIGNER.verify(slip.code, other) is None


def test_a_name_of_marks_alone_cannot_be_printed() -> None:
    assert printable_name("\u0301\u0301") is None
