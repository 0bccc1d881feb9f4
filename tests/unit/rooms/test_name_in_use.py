"""Look-alike names at ticket time: each member's name is reduced once per room, not once per
ticket, and the cache forgets names when it outgrows the room."""

from types import SimpleNamespace
from unittest import mock

from app.rooms import service
from app.rooms.service import Rooms
from app.rooms.state import name_key


def _room(*names: str) -> SimpleNamespace:
    members = {f"m{i}": SimpleNamespace(key=name_key(n), name=n) for i, n in enumerate(names)}
    return SimpleNamespace(meeting_id="mtg", state=SimpleNamespace(members=members))


def test_look_alikes_and_same_names_are_in_use() -> None:
    rooms = SimpleNamespace(_skeletons={})
    room = _room("Pop", "Alex")
    for name in ("Pop", "POP", "Ｐｏｐ", "Рор", "P0p", "alex"):
        assert Rooms.name_in_use(rooms, room, name), name  # type: ignore[arg-type]
    assert not Rooms.name_in_use(rooms, room, "Robin")  # type: ignore[arg-type]


def test_each_members_name_is_reduced_once_per_room() -> None:
    rooms = SimpleNamespace(_skeletons={})
    room = _room(*(f"Member{i}" for i in range(200)))
    with mock.patch.object(service, "skeleton", wraps=service.skeleton) as reduce:
        for i in range(50):
            Rooms.name_in_use(rooms, room, f"Newcomer{i}")  # type: ignore[arg-type]
    assert reduce.call_count == 200 + 50  # the members once, each newcomer's name once


def test_the_cache_forgets_names_of_people_long_gone() -> None:
    rooms = SimpleNamespace(_skeletons={"mtg": {f"Gone{i}": f"gone{i}" for i in range(500)}})
    Rooms.name_in_use(rooms, _room("Pop"), "Robin")  # type: ignore[arg-type]
    assert set(rooms._skeletons["mtg"]) == {"Pop"}
