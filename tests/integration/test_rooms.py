"""The room core on a real uvicorn server with real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.config import Settings
from tests.support.rooms import UNIT_S, Meeting, Member, create_meeting
from tests.support.server import LiveServer, serve


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", send_queue_max_bytes=65536, resume_window_s=30)


@pytest.fixture
async def meeting(live_server: LiveServer, http: httpx.AsyncClient) -> Meeting:
    return await create_meeting(live_server, http)


async def started(meeting: Meeting) -> Member:
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return host


async def test_members_receive_every_message_in_the_same_order(meeting: Meeting) -> None:
    host = await started(meeting)
    members = [await meeting.join(name) for name in ("Ann", "Bob", "Cat")]
    for i, member in enumerate(members):
        for j in range(3):
            await member.say(f"message {i}.{j}", cid=f"c{i}{j}")
    orders = []
    for member in [host, *members]:
        got: list[tuple[int, str]] = []
        while len(got) < 9:
            frame = await member.event("msg")
            got.append((frame["s"], frame["cid"]))
        orders.append(got)
    assert all(order == orders[0] for order in orders)
    assert sorted(cid for _, cid in orders[0]) == sorted(
        f"c{i}{j}" for i in range(3) for j in range(3)
    )
    assert meeting.validator is not None and meeting.validator.checked > 40


async def test_sender_learns_its_message_went_out_from_its_own_event(meeting: Meeting) -> None:
    await started(meeting)
    ann = await meeting.join("Ann")
    cid = await ann.say("hello")
    frame = await ann.event("msg", cid=cid)
    assert frame["n"] == "Ann" and frame["x"] == "hello" and frame["m"] == ann.me


async def test_killed_client_resumes_with_exactly_the_missed_messages(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    await host.say("before", cid="b0")
    await bob.event("msg", cid="b0")
    bob.ws.transport.abort()  # the link drops without a close handshake
    await host.event("away", m=bob.me)
    sent = [await ann.say(f"missed {i}", cid=f"m{i}") for i in range(5)]
    for cid in sent:
        await host.event("msg", cid=cid)
    resumed = await meeting.resume(bob)
    assert resumed.welcome["replay"] is True and resumed.me == bob.me
    back = await host.event("back", m=bob.me)
    received = []
    while len(received) < 5:
        frame = await resumed.event("msg")
        received.append(frame["cid"])
    assert received == sent
    # Nothing else was replayed twice and the stream continues live.
    await host.say("after", cid="a1")
    frame = await resumed.event("msg")
    assert frame["cid"] == "a1"
    assert back["s"] < frame["s"]
    cids = [f["cid"] for f in resumed.frames if f.get("t") == "msg"]
    assert len(cids) == len(set(cids))


async def test_events_applied_while_the_resume_read_was_in_flight_are_not_lost(
    meeting: Meeting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log's answer to a resume's read can be a Redis round trip old: what the replica
    applied meanwhile must still reach the member (read again), not fall between the replay
    and the live stream."""
    host = await started(meeting)
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    bob.ws.transport.abort()
    await host.event("away", m=bob.me)
    log = meeting.server.app.state.rooms.log
    real_read = log.read
    late: list[str] = []

    async def slow_read(room: Any, after: Any) -> Any:
        result = await real_read(room, after)
        if not late:  # the first read's answer arrives after more was said
            late.extend([await ann.say(f"meanwhile {i}", cid=f"w{i}") for i in range(3)])
            for cid in late:
                await host.event("msg", cid=cid)
        return result

    monkeypatch.setattr(log, "read", slow_read)
    resumed = await meeting.resume(bob)
    assert resumed.welcome["replay"] is True
    got = [(await resumed.event("msg"))["cid"] for _ in late]
    assert got == late


async def test_resent_message_after_resume_is_not_delivered_twice(meeting: Meeting) -> None:
    await started(meeting)
    ann = await meeting.join("Ann")
    cid = await ann.say("only once")
    await ann.event("msg", cid=cid)
    await ann.say("only once", cid=cid)
    assert (await ann.event("dup"))["cid"] == cid


async def test_resume_after_the_window_or_with_another_epoch_gives_a_snapshot(
    meeting: Meeting,
) -> None:
    await started(meeting)
    ann = await meeting.join("Ann")
    ann.ws.transport.abort()
    resumed = await meeting.resume(ann, epoch="another")
    assert resumed.welcome["replay"] is False
    assert resumed.welcome["room"]["phase"] == "live"


async def test_a_member_whose_link_was_down_when_the_meeting_ended_is_told_it_ended(
    meeting: Meeting,
) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    ann.ws.transport.abort()
    await host.event("away", m=ann.me)
    await host.send({"t": "end"})
    assert await host.closed() == 4004
    comeback = await meeting.connect()
    await comeback.send(
        {
            "t": "resume",
            "v": 1,
            "token": ann.welcome["token"],
            "after": ann.last_seq,
            "epoch": ann.welcome["epoch"],
        }
    )
    assert await comeback.closed() == 4004


async def test_replayed_ticket_is_refused(meeting: Meeting) -> None:
    await started(meeting)
    ticket = await meeting.ticket("Ann")
    first = await meeting.connect()
    await first.send({"t": "hello", "v": 1, "ticket": ticket})
    await first.event("welcome")
    second = await meeting.connect()
    await second.send({"t": "hello", "v": 1, "ticket": ticket})
    assert await second.closed() == 4002


async def test_forged_roles_grant_nothing(meeting: Meeting, http: httpx.AsyncClient) -> None:
    host = await started(meeting)
    response = await http.post(
        f"/api/meetings/{meeting.id}/tickets", json={"name": "Eve", "role": "host"}
    )
    assert response.status_code == 422
    eve = await meeting.join("Eve")
    assert eve.welcome["role"] == "member"
    await eve.send({"t": "say", "cid": "x", "x": "hi", "role": "host", "m": host.me})
    assert (await eve.event("error"))["code"] == "bad_frame"
    await eve.send({"t": "mute", "m": host.me, "on": True})
    assert (await eve.event("error"))["code"] == "not_allowed"
    await eve.send({"t": "end"})
    assert (await eve.event("error"))["code"] == "not_allowed"
    cid = await eve.say("still here")
    await host.event("msg", cid=cid)


async def test_malformed_frames_get_typed_errors_and_the_connection_stays(meeting: Meeting) -> None:
    await started(meeting)
    ann = await meeting.join("Ann")
    cases = {
        "{not json": "bad_json",
        json.dumps({"t": "nope"}): "unknown_type",
        json.dumps({"x": "no type"}): "bad_frame",
        json.dumps({"t": "say", "cid": "c", "x": 5}): "bad_frame",
        json.dumps({"t": "say", "cid": "c", "x": "y" * 2001}): "too_long",
    }
    for raw, code in cases.items():
        await ann.ws.send(raw)
        assert (await ann.event("error"))["code"] == code
    await ann.ws.send(b"\x00\x01")
    assert (await ann.event("error"))["code"] == "binary_frame"
    cid = await ann.say("fine")
    await ann.event("msg", cid=cid)


async def test_oversized_frame_closes_only_that_connection(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    eve = await meeting.join("Eve")
    await eve.ws.send("x" * (1 << 20))
    assert await eve.closed() == 1009
    cid = await ann.say("unaffected")
    await host.event("msg", cid=cid)


async def test_flood_is_rate_limited_while_others_are_served(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    eve = await meeting.join("Eve")
    for i in range(8):
        await eve.say(f"flood {i}", cid=f"flood-{i}")
    errors = [await eve.event("error", code="rate_limited") for _ in range(3)]
    assert all(e["retry"] >= 0 for e in errors)
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    cid = await ann.say("bystander")
    await ann.event("msg", cid=cid)
    assert loop.time() - started_at < UNIT_S
    await host.event("msg", cid=cid)
    delivered = {f["cid"] for f in host.frames if f.get("t") == "msg"}
    # Client ids are random hex elsewhere, so match the flood's own prefix exactly.
    flood = sorted(c for c in delivered if c.startswith("flood-"))
    assert flood == [f"flood-{i}" for i in range(5)]


async def test_stalled_reader_is_cut_off_and_others_keep_receiving(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "d", send_queue_max_bytes=65536, rate_burst=1000, rate_per_s=100
    )
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        meeting = await create_meeting(server, http)
        host = await started(meeting)
        ann = await meeting.join("Ann")
        # A reader that stops reading, with a tiny kernel receive buffer.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((server.host, server.port))
        ticket = await meeting.ticket("Stuck")
        stuck_ws = await websockets.connect(server.ws_url, sock=sock, max_queue=1)
        await stuck_ws.send(json.dumps({"t": "hello", "v": 1, "ticket": ticket}))
        stuck_ws.transport.pause_reading()
        overflows = server.app.state.metrics.send_overflows
        big = "☕" * 1999  # 6 kB of UTF-8 per frame
        sent = 0
        while overflows._value.get() == 0:
            await host.send({"t": "say", "cid": f"h{sent}", "x": big})
            sent += 1
            if sent % 50 == 0:  # pace the flood by the host's own echo
                await host.event("msg", cid=f"h{sent - 1}", timeout=10 * UNIT_S)
            assert sent < 20_000, "the stalled reader was never cut off"
        await host.say("after the cut", cid="done")
        frame = await ann.event("msg", cid="done", timeout=10 * UNIT_S)
        assert frame["x"] == "after the cut"
        room = server.app.state.rooms.hub.get(meeting.id)
        stuck = next(m for m in room.state.members.values() if m.name == "Stuck")
        conn = room.conns.get(stuck.id)
        assert conn is None or conn.closed
        stuck_ws.transport.abort()


async def test_foreign_origin_is_refused(meeting: Meeting) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(meeting.server.ws_url, origin="https://evil.example")
    assert info.value.response.status_code == 403


async def test_connection_without_opening_frame_times_out(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", handshake_timeout_s=0.3)
    async with serve(settings) as server:
        ws = await websockets.connect(server.ws_url)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5 * UNIT_S)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4009


async def test_ending_the_meeting_closes_every_connection(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    await host.send({"t": "end"})
    assert (await ann.event("phase", p="ended"))["p"] == "ended"
    assert await ann.closed() == 4004
    assert await host.closed() == 4004
    assert meeting.server.app.state.rooms.hub.get(meeting.id) is None
    response = await meeting.http.post(f"/api/meetings/{meeting.id}/tickets", json={"name": "Z"})
    assert response.status_code == 201  # a new occurrence can start later


async def test_leaving_closes_normally_and_the_room_sees_it(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    await ann.send({"t": "leave"})
    assert await ann.closed() == 1000
    assert (await host.event("leave", m=ann.me))["why"] == "left"


async def test_protocol_schema_is_published(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/api/protocol.json")).json()
    assert schema["version"] == 1
    text = json.dumps(schema)
    for t in ("hello", "resume", "say", "welcome", "msg", "held", "care", "alert"):
        assert f'"{t}"' in text


async def test_gone_connections_are_freed_without_a_full_garbage_collection(
    meeting: Meeting,
) -> None:
    """Members who leave, cleanly or by a dropped link, leave no reference cycle behind: a
    meeting's end would otherwise hand thousands of them to one long full collection."""
    import gc

    from app.api.deadline import DeadlineHttpProtocol
    from app.rooms.fastws import HavenWebSocketProtocol

    host = await started(meeting)

    def alive() -> int:
        kinds = (HavenWebSocketProtocol, DeadlineHttpProtocol)
        return sum(type(o) in kinds for o in gc.get_objects())

    gc.collect()
    gc.disable()
    try:
        before = alive()
        for i in range(6):
            member = await meeting.join(f"Guest{i}")
            await host.event("join", m=member.me)
            if i % 2:
                member.ws.transport.abort()  # the link drops without a close handshake
            else:
                await member.send({"t": "leave"})
                await member.closed()
            await host.until(
                lambda f, me=member.me: f.get("t") in ("away", "leave") and f.get("m") == me
            )
        await asyncio.sleep(0.2)  # the server finishes each connection's ASGI task
        assert alive() <= before
    finally:
        gc.enable()


async def test_a_browser_whose_welcome_was_lost_gets_its_name_back_with_a_new_ticket(
    meeting: Meeting,
) -> None:
    """The first ``hello`` joined, but its welcome never arrived (a bad link): the browser
    gives up on that socket and asks for a new ticket under the same name. It is not told
    the name is taken by itself; its old member leaves and the new one is in."""
    host = await started(meeting)
    first = await meeting.join("Sam", device="browser-of-sam")
    first.ws.transport.abort()
    again = await meeting.join("Sam", device="browser-of-sam")
    assert again.me != first.me
    await host.event("leave", m=first.me, why="replaced")
    await host.event("join", m=again.me, n="Sam")
    other = await meeting.http.post(
        f"/api/meetings/{meeting.id}/tickets", json={"name": "Sam", "device": "someone-else"}
    )
    assert other.status_code == 409 and other.json()["detail"]["code"] == "name_in_use"


async def test_trying_names_one_after_another_is_slowed_to_a_few(meeting: Meeting) -> None:
    """A 409 says someone is here under that name: an outsider testing names ("is Sarah
    there?") gets five such answers per meeting, then nothing tells them anything."""
    await started(meeting)
    await meeting.join("Sarah")
    url = f"/api/meetings/{meeting.id}/tickets"
    for _ in range(5):
        taken = await meeting.http.post(url, json={"name": "Sarah"})
        assert taken.status_code == 409
    for name in ("Sarah", "Maria"):
        slowed = await meeting.http.post(url, json={"name": name})
        assert slowed.status_code == 429 and "retry-after" in slowed.headers


async def test_a_resume_replays_a_message_sent_twice_back_to_back_once(meeting: Meeting) -> None:
    host = await started(meeting)
    ann = await meeting.join("Ann")
    bob = await meeting.join("Bob")
    bob.ws.transport.abort()
    await host.event("away", m=bob.me)
    frame = {"t": "say", "x": "only once please", "cid": "twice"}
    await asyncio.gather(ann.send(frame), ann.send(frame))  # no wait between the two
    marker = await ann.say("marker")
    await host.event("msg", cid=marker)
    assert [f["cid"] for f in host.frames if f.get("t") == "msg"].count("twice") == 1
    resumed = await meeting.resume(bob)
    await resumed.event("msg", cid=marker)
    assert [f["cid"] for f in resumed.frames if f.get("t") == "msg"].count("twice") == 1


async def test_names_refused_at_the_join_count_against_the_same_limit(meeting: Meeting) -> None:
    """A ticket issued while the name was free (or by a worker that does not follow the
    meeting) is refused at the join instead: those refusals are slowed the same way."""
    await started(meeting)
    tickets = [await meeting.ticket("Sarah") for _ in range(6)]
    late = await meeting.ticket("Maria")
    codes = []
    for ticket in [*tickets, late]:
        member = await meeting.connect()
        await member.send({"t": "hello", "v": 1, "ticket": ticket})
        try:
            await member.event("welcome")
            codes.append(0)
        except websockets.ConnectionClosed as closed:
            codes.append(closed.rcvd.code if closed.rcvd else None)
    assert codes == [0, 4016, 4016, 4016, 4016, 4016, 4013]
