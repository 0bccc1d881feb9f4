"""What a member sees of the room when they (re)join: the ``room`` field of ``welcome``.

Built from the replica's state for one viewer, with the same visibility rules as live events:
participants of a room whose member list is hidden see facilitators, themselves and a count;
members in the lobby see only the meeting's title and phase; held messages go to facilitators.
"""

from __future__ import annotations

from typing import Any

from app.rooms.state import Member, RoomState


def _member(m: Member, state: RoomState) -> dict[str, Any]:
    return {
        "m": m.id,
        "n": m.name,
        "r": m.role,
        "lob": m.lobby,
        "away": not m.present,
        "muted": m.muted,
        "hand": m.id in state.hands,
    }


def snapshot(state: RoomState, viewer: Member) -> dict[str, Any]:
    room: dict[str, Any] = {
        "id": state.config.meeting_id,
        "title": state.config.title,
        "phase": state.phase,
        "count": state.count(),
    }
    if viewer.lobby:
        return room
    fac = viewer.is_facilitator
    if fac or state.config.members_visible:
        members = [m for m in state.members.values() if fac or not m.lobby]
        hands = list(state.hands)
    else:
        members = [m for m in state.members.values() if m.is_facilitator or m.id == viewer.id]
        hands = [h for h in state.hands if h == viewer.id]
    floor = state.member(state.floor)
    room.update(
        members=[_member(m, state) for m in members],
        hands=hands,
        queue_pos=state.hands.index(viewer.id) + 1 if viewer.id in state.hands else None,
        floor=None
        if floor is None
        else {
            "m": floor.id,
            "n": floor.name,
            "until": state.floor_until,
            "warned": state.floor_warned,
        },
        locked=state.locked,
        muted_all=state.muted_all,
        slow=state.slow_s,
        pin=state.pinned,
        chat=state.config.chat_mode,
        members_visible=state.config.members_visible,
        me={"muted": viewer.muted, "blocks": sorted(viewer.blocks)},
    )
    if fac:
        room["holds"] = [
            {"h": h.h, "m": h.m, "n": h.n, "x": h.x, "why": list(h.why)}
            for h in state.holds.values()
        ]
    return room
