"""The rooms' timers tick on a shared grid: a worker with many rooms wakes a few times a
second for them, not once per room (``app.rooms.hub.next_tick_in``)."""

from __future__ import annotations

import asyncio
import math

import pytest

from app.rooms import commands as sys
from app.rooms import hub as hub_module
from app.rooms import protocol as p
from app.rooms.decide import timers_due
from app.rooms.hub import TICK_S, TICK_SLOTS, Hub, next_tick_in
from app.rooms.log import LogLimits
from app.rooms.log_memory import MemoryRoomLog
from app.rooms.state import RoomConfig
from app.rooms.types import MeetingId, MemberId


@pytest.mark.parametrize("slot", range(TICK_SLOTS))
def test_a_tick_falls_on_its_slot_of_the_grid_at_least_half_a_period_away(slot: int) -> None:
    offset = slot * TICK_S / TICK_SLOTS
    for step in range(400):
        now = 1234.0 + step * 0.0073
        wait = next_tick_in(now, slot)
        assert TICK_S / 2 <= wait < 1.5 * TICK_S
        phase = (now + wait - offset) % TICK_S
        assert math.isclose(phase, 0, abs_tol=1e-9) or math.isclose(phase, TICK_S, abs_tol=1e-9)


def test_a_timer_that_fires_a_little_early_waits_for_the_next_tick_not_a_moment() -> None:
    assert next_tick_in(99.9999, 0) == pytest.approx(1.0001)
    assert next_tick_in(100.0, 0) == pytest.approx(1.0)
    assert next_tick_in(100.0001, 0) == pytest.approx(0.9999)


async def test_many_rooms_tick_together_in_a_few_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    period = 0.05
    monkeypatch.setattr(hub_module, "TICK_S", period)
    wakes: dict[int, list[float]] = {}
    ticks: dict[MeetingId, int] = {}
    original_leads = hub_module.RoomChannel.leads_timers

    def recording_next_tick_in(now: float, slot: int) -> float:
        wait = next_tick_in(now, slot)
        wakes.setdefault(slot, []).append(now + wait)
        return wait

    def counting_leads(self: hub_module.RoomChannel) -> bool:
        ticks[self.meeting_id] = ticks.get(self.meeting_id, 0) + 1
        return original_leads(self)

    monkeypatch.setattr(hub_module, "next_tick_in", recording_next_tick_in)
    monkeypatch.setattr(hub_module.RoomChannel, "leads_timers", counting_leads)
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    names = [MeetingId(f"meeting-{i}") for i in range(40)]
    try:
        for name in names:

            async def config(name: MeetingId = name) -> RoomConfig:
                return RoomConfig(meeting_id=name, capacity=20, lobby=False)

            # Nobody in them yet: this worker runs their timers (the idle end).
            assert await hub.room(name, config) is not None
        await asyncio.sleep(6 * period)
    finally:
        await hub.close()
    # Every room's timers kept waking, about once a period.
    assert set(ticks) == set(names)
    assert min(ticks.values()) >= 3
    # The rooms were spread over the slots, and each slot's rooms asked to wake at the same
    # instants, on the slot's offset of the grid: the worker wakes once per slot and period,
    # not once per room.
    assert len(wakes) >= TICK_SLOTS // 2
    points: set[tuple[int, int]] = set()  # (period, slot): one instant of the grid each
    for slot, instants in wakes.items():
        offset = slot * period / TICK_SLOTS
        for t in instants:
            k = round((t - offset) / period)
            assert t == pytest.approx(k * period + offset, abs=1e-9)
            points.add((k, slot))
    # 40 rooms in 10 slots: about four rooms wake at each instant (one each, unaligned).
    requests = sum(len(instants) for instants in wakes.values())
    assert requests >= 2 * len(points)


async def test_only_a_tick_with_something_due_takes_the_ordered_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "TICK_S", 0.02)
    submitted: list[object] = []
    original_submit = hub_module.RoomChannel.submit

    async def recording_submit(  # type: ignore[no-untyped-def]
        self: hub_module.RoomChannel, actor: MemberId | None, cmd: object
    ):
        submitted.append(cmd)
        return await original_submit(self, actor, cmd)  # type: ignore[arg-type]

    monkeypatch.setattr(hub_module.RoomChannel, "submit", recording_submit)
    hub = Hub(log=MemoryRoomLog(LogLimits()))
    room_id = MeetingId("emptied")

    async def config() -> RoomConfig:
        return RoomConfig(meeting_id=room_id, capacity=20, lobby=False)

    try:
        room = await hub.room(room_id, config)
        assert room is not None
        join = sys.Join(member=MemberId("ann"), name="Ann", key="ann", role="member", conn="c")
        assert isinstance(await room.submit(None, join), list)
        left = await room.submit(MemberId("ann"), p.Leave(t="leave"))
        assert isinstance(left, list)
        async with asyncio.timeout(2):
            await room.caught_up(left[-1].seq)
        now = hub.clock()
        assert room.state.empty_since is not None
        assert not timers_due(room.state, now)
        submitted.clear()
        await asyncio.sleep(0.2)  # ~10 ticks of an emptied room, nothing due yet
        assert not any(isinstance(cmd, sys.Tick) for cmd in submitted)
        # Past the idle end the timers are due: the tick decides it in order and ends the room.
        hub.clock = lambda: now + room.state.config.idle_end_ms + 1
        assert timers_due(room.state, hub.clock())
        async with asyncio.timeout(2):
            while not room.ended:  # noqa: ASYNC110 - the next tick ends it
                await asyncio.sleep(0.01)
        assert any(isinstance(cmd, sys.Tick) for cmd in submitted)
    finally:
        await hub.close()
