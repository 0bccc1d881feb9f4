"""Serialised room state: what a worker saves so another can join a meeting mid-way.

``dump_state`` and ``load_state`` are inverses for every :class:`RoomState` the reducer can
build: ``load_state(dump_state(s)) == s``, field for field, including the members, their
blocks, the bans and the messages held for review (whose text is the one piece of content a
state carries; a snapshot lives only where the room log lives, in memory or Redis memory,
and is dropped with it).

The encoding is JSON (orjson) wrapped in a version tag. The loader is driven by the
dataclasses' own type hints rather than a hand-written field list, so a field added to
``RoomState``, ``Member``, ``RoomConfig`` or an event is carried without touching this module;
a field of a type it does not know (say, a set of tuples) fails loudly on the first round
trip, which the property test in ``tests/unit/rooms/test_state_codec.py`` performs.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

import orjson

from app.rooms.state import RoomState

VERSION = 1
"""Bumped when a change to the state classes cannot be read by the previous loader."""


def dump_state(state: RoomState) -> bytes:
    """``state`` as bytes; frozensets are written sorted, so equal states give equal bytes."""
    return orjson.dumps({"v": VERSION, "state": state}, default=_default)


def load_state(data: bytes) -> RoomState:
    """Inverse of :func:`dump_state`. Raises ``ValueError`` on a record of another version."""
    body = orjson.loads(data)
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise ValueError("not a room state record of this version")
    state = _build(RoomState, body["state"])
    assert isinstance(state, RoomState)
    return state


def _default(value: object) -> object:
    # orjson writes dataclasses, dicts, tuples and primitives itself; only these need help.
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a room state")


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """The init fields of a dataclass with their resolved type hints (ClassVars excluded)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def _build(hint: Any, value: Any) -> Any:
    """``value`` (parsed JSON) turned back into the type ``hint`` describes."""
    if value is None:
        return None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint(
            **{name: _build(sub, value[name]) for name, sub in _fields(hint) if name in value}
        )
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is frozenset:
        return frozenset(_build(args[0], item) for item in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item) for item in value)
        return tuple(_build(sub, item) for sub, item in zip(args, value, strict=True))
    if origin in (dict, Mapping):
        return {key: _build(args[1], item) for key, item in value.items()}
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"ambiguous union {hint!r} in a room state")
        return _build(options[0], value)
    # Primitives, Literal[...] and NewType(...) over primitives: JSON already has the value.
    return value
