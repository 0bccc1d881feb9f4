"""Abuse of the WebSocket itself: who may open it, what may be sent on it, how fast, how slowly.

Every test ends with ``scene.meeting_goes_on()``: the bystander still sends and receives and
the server still answers. Cases already in tests/integration/test_rooms.py are referenced, not
repeated: a 1 MiB frame (1009), the message flood, the stalled reader (4008), a foreign Origin.
"""

from __future__ import annotations

import asyncio
import json
import random

import websockets

from tests.security.harness import (
    LISTED_ORIGIN,
    Scene,
    expect_refused,
    http_head,
    masked_frame,
    read_close_code,
    upgrade_request,
)
from tests.support.rooms import UNIT_S

TEXT, BINARY = 0x1, 0x2
# Greek (2 bytes), CJK (3), emoji (4): 24 of each from here on are NFKC-stable, so the
# delivered display form equals the text sent.
MULTIBYTE = (0x3B1, 0x4E00, 0x1F300)


async def test_cross_site_websocket_hijacking_is_refused_and_listed_origins_allowed(
    scene: Scene,
) -> None:
    server = scene.server
    attacker = scene.from_new_address()
    foreign = [
        "https://evil.example",
        "null",  # sandboxed iframes and file:// pages
        f"http://{server.host}:{server.port}.evil.example",
        f"http://evil.example/{server.host}:{server.port}",
        f"http://{server.host}:{server.port + 1}",
        "https://haven.example.org.evil.example",
        "javascript:alert(1)",
    ]
    for origin in foreign:
        assert await expect_refused(attacker.connect, origin=origin) == 403, origin
    # The page's own origin, a listed origin, and a non-browser client (no Origin) may join.
    for origin in (f"http://{server.host}:{server.port}", LISTED_ORIGIN, None):
        ticket = await attacker.ticket(f"Guest{len(origin or '')}")
        member = await attacker.connect(origin=origin) if origin else await attacker.connect()
        await member.send({"t": "hello", "v": 1, "ticket": ticket})
        assert (await member.event("welcome"))["role"] == "member"
        await member.close()
    await scene.meeting_goes_on()


async def test_invalid_utf8_in_a_text_frame_closes_1007_that_connection_only(
    scene: Scene,
) -> None:
    server = scene.server
    # Before joining: a raw client, byte by byte as RFC 6455 frames them.
    reader, writer = await scene.from_new_address().open_raw()
    writer.write(upgrade_request(server.host, server.port))
    assert b" 101 " in await http_head(reader, UNIT_S)
    writer.write(masked_frame(TEXT, b'{"t":"hello","v":1,"ticket":"\xff\xfe"}'))
    assert await read_close_code(reader, 3 * UNIT_S) == 1007
    # After joining: overlong encodings and lone surrogates are invalid UTF-8 too.
    eve = await scene.from_new_address().join("Eve")
    await eve.ws.send(b'{"t":"say","cid":"a","x":"\xc0\xaf \xed\xa0\x80"}', text=True)
    assert await eve.closed() == 1007
    await scene.meeting_goes_on()


async def test_binary_frames_are_refused_and_a_stream_of_them_closes_1008(scene: Scene) -> None:
    attacker = scene.from_new_address()
    # As the opening frame: the connection is closed before any join.
    ticket = await attacker.ticket("Bin")
    early = await attacker.connect()
    await early.ws.send(json.dumps({"t": "hello", "v": 1, "ticket": ticket}).encode())
    assert await early.closed() == 4000
    # After joining: a typed error each, then a policy close once they keep coming.
    eve = await attacker.join("Eve")
    await eve.ws.send(b"\x00\x01\x02")
    assert (await eve.event("error"))["code"] == "binary_frame"
    for _ in range(12):
        await eve.ws.send(b"\xde\xad\xbe\xef")
    assert await eve.closed() == 1008
    await scene.meeting_goes_on()


async def test_oversized_frames_and_texts_are_refused_without_harm(scene: Scene) -> None:
    # 1 MiB frames: tests/integration/test_rooms.py::test_oversized_frame_closes_only_that_
    # connection. Here: one byte over the limit, and every text field one character over.
    limit = scene.server.settings.max_frame_bytes
    eve = await scene.from_new_address().join("Eve")
    for frame, code in (
        ({"t": "say", "cid": "c", "x": "y" * 2001}, "too_long"),
        ({"t": "say", "cid": "c" * 41, "x": "hi"}, "bad_frame"),
        ({"t": "report", "m": scene.host.me, "why": "w" * 201}, "bad_frame"),
        ({"t": "block", "m": "m" * 33}, "bad_frame"),
        ({"t": "lobby_say", "x": "y" * 2001}, "too_long"),
    ):
        await eve.send(frame)
        assert (await eve.event("error"))["code"] == code, frame
    padding = limit - len('{"t":"say","cid":"c","x":""}') + 1
    await eve.ws.send('{"t":"say","cid":"c","x":"' + "y" * padding + '"}')
    assert await eve.closed() == 1009
    # Multi-byte characters count as bytes against the frame limit and as characters against
    # the text limit: 2000 characters of up to four bytes each fit in one frame (raw UTF-8,
    # as browsers send it) and are one valid message.
    rnd = random.Random(9)
    text = "".join(chr(rnd.choice(MULTIBYTE) + rnd.randrange(24)) for _ in range(2000))
    ann = await scene.from_new_address().join("Ann")
    await ann.ws.send(json.dumps({"t": "say", "cid": "mb", "x": text}, ensure_ascii=False))
    assert (await scene.bystander.event("msg", cid="mb"))["x"] == text
    await scene.meeting_goes_on()


async def test_deeply_nested_or_huge_json_gets_a_typed_error(scene: Scene) -> None:
    eve = await scene.from_new_address().join("Eve")
    limit = scene.server.settings.max_frame_bytes
    depth = (limit - 100) // 2
    cases = [
        '{"t":"say","cid":"a","x":' + "[" * depth + "]" * depth + "}",
        '{"t":"react","to":' + "9" * (limit - 100) + ',"r":"heart"}',
        '{"t":"react","to":1e999999,"r":"heart"}',
        '{"t":"slow","secs":-' + "9" * 5000 + "}",
        '{"t":"say","cid":"a","x":"hi","ok":true' + ',"k":{}' * 1200 + "}",
        "[" * depth,
        '"' + "\\u0000" * 2000 + '"',
        "{" + ",".join(f'"k{i}":{i}' for i in range(1200)) + "}",
        '{"t":"say","t":"end","cid":"a","x":"dup keys"}',
    ]
    for raw in cases:
        assert len(raw.encode()) <= limit
        await eve.ws.send(raw)
        error = await eve.event("error")
        assert error["code"] in {"bad_json", "bad_frame", "unknown_type"}, raw[:40]
        assert raw[:60] not in error["msg"]  # no echo of what was sent
    # Ten refusals a minute are allowed; the connection is still usable.
    await eve.send({"t": "ping"})
    await eve.event("pong")
    assert scene.state().phase == "live"
    await scene.meeting_goes_on()


async def test_numbers_no_event_can_carry_are_refused_and_the_room_goes_on(scene: Scene) -> None:
    # Beyond 64 bits, an event naming the number could not be encoded: the room's delivery
    # would stop for everyone. Such numbers, and seqs that do not exist yet, are refused.
    eve = await scene.from_new_address().join("Eve")
    victim = scene.bystander.me
    for frame in (
        {"t": "report", "m": victim, "to": 2**70},
        {"t": "react", "to": 2**70, "r": "heart"},
        {"t": "resume", "v": 1, "token": "x", "after": 2**70},
    ):
        await eve.send(frame)
        assert (await eve.event("error"))["code"] in {"bad_frame", "unknown_type"}
    await eve.send({"t": "report", "m": victim, "to": scene.state().seq + 1000})
    assert (await eve.event("error"))["code"] == "invalid"
    await scene.meeting_goes_on()


async def test_a_raid_of_message_floods_is_bounded_per_member(scene: Scene) -> None:
    # One member's flood: tests/integration/test_rooms.py::test_flood_is_rate_limited_while_
    # others_are_served. Here a raid: several members flood at once, from several addresses.
    raiders = [await scene.from_new_address().join(f"Raider{c}") for c in "abcd"]
    await asyncio.gather(
        *(
            raider.send({"t": "say", "cid": f"r{i}", "x": f"spam {i} " + "!" * i})
            for raider in raiders
            for i in range(15)
        )
    )
    for raider in raiders:
        await raider.event("error", code="rate_limited")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await scene.meeting_goes_on()
    assert loop.time() - started < 2 * UNIT_S, "the bystander waited behind the raid"
    delivered = [f for f in scene.bystander.frames if f.get("t") == "msg" and f["n"] != "Bystander"]
    assert len(delivered) <= 5 * len(raiders), len(delivered)  # the burst allowance, no more


async def test_a_flood_of_reactions_is_rate_limited_then_cut_off(scene: Scene) -> None:
    # Messages: tests/integration/test_rooms.py::test_flood_is_rate_limited_while_others_are_
    # served. Reactions (and every other command) share a separate, looser bucket.
    cid = await scene.host.say("something to react to")
    target = (await scene.bystander.event("msg", cid=cid))["s"]
    eve = await scene.from_new_address().join("Eve")
    for _ in range(60):
        await eve.send({"t": "react", "to": target, "r": "heart"})
    assert await eve.closed(timeout=5 * UNIT_S) == 1008
    await scene.meeting_goes_on()
    reactions = [
        f for f in scene.bystander.frames if f.get("t") == "react" and f.get("m") == eve.me
    ]
    assert 0 < len(reactions) <= 20, len(reactions)


async def test_a_flood_of_pings_is_rate_limited_then_cut_off(scene: Scene) -> None:
    eve = await scene.from_new_address().join("Eve")
    for _ in range(60):
        await eve.send({"t": "ping"})
    assert await eve.closed(timeout=5 * UNIT_S) == 1008
    pongs = [f for f in eve.frames if f.get("t") == "pong"]
    assert 0 < len(pongs) <= 20, len(pongs)
    await scene.meeting_goes_on()


async def test_a_flood_of_resumes_does_not_flood_the_room(scene: Scene) -> None:
    """One ticket, then reconnect in a loop: each resume announces ``back`` to everyone and
    pushes older events out of the retained log, so resuming is rate-limited per member."""
    attacker = scene.from_new_address()
    eve = await attacker.join("Eve")
    resume = {"t": "resume", "v": 1, "token": eve.welcome["token"], "after": 0}
    refused: int | None = None
    accepted = 0
    for _ in range(40):
        fresh = await attacker.connect()
        await fresh.send({**resume, "epoch": eve.welcome["epoch"]})
        try:
            first = json.loads(await asyncio.wait_for(fresh.ws.recv(), 2 * UNIT_S))
        except websockets.ConnectionClosed as exc:
            refused = exc.rcvd.code if exc.rcvd else None
            break
        assert first["t"] == "welcome" and first["me"] == eve.me
        accepted += 1
        fresh.ws.transport.abort()  # the link "drops": the member goes away, then resumes
    assert refused == 4013, f"{accepted} resumes in a row were accepted"
    await scene.meeting_goes_on()
    backs = [f for f in scene.bystander.frames if f.get("t") == "back" and f.get("m") == eve.me]
    assert len(backs) == accepted <= 10, (len(backs), accepted)


async def test_a_slowloris_upgrade_is_cut_off_within_the_handshake_deadline(
    scene: Scene,
) -> None:
    server = scene.server
    deadline = server.settings.handshake_timeout_s
    attacker = scene.from_new_address()
    loop = asyncio.get_running_loop()
    request = upgrade_request(server.host, server.port)
    started = loop.time()

    async def drip() -> float:
        """Send the upgrade one byte per 0.25 s (the whole would take ~40 s); when was it cut?"""
        reader, writer = await attacker.open_raw()
        for byte in request:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
                data = await asyncio.wait_for(reader.read(1), 0.25)
            except TimeoutError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                return loop.time() - started
        raise AssertionError("the whole request went through")

    async def silent() -> bytes:
        reader, _ = await attacker.open_raw()
        return await reader.read()

    async def slow_body() -> bytes:
        reader, writer = await attacker.open_raw()
        writer.write(b"POST /api/meetings/x/tickets HTTP/1.1\r\nHost: h\r\n")
        writer.write(b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
        return await reader.read()

    *cut_at, nothing, answer = await asyncio.wait_for(
        asyncio.gather(drip(), drip(), drip(), silent(), slow_body()), 10 * deadline
    )
    assert max(cut_at) < deadline + 2 * UNIT_S, cut_at
    # A silent connection is bounded too, and so is a request whose body never comes.
    assert nothing == b""
    assert not answer.startswith(b"HTTP/1.1 2"), answer
    assert loop.time() - started < deadline + 2 * UNIT_S
    await scene.meeting_goes_on()


async def test_an_idle_connection_that_never_joins_is_closed_4009(scene: Scene) -> None:
    # tests/integration/test_rooms.py covers the code; here several at once, and a bystander.
    attacker = scene.from_new_address()
    idle = [await attacker.connect() for _ in range(4)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for member in idle:
        assert await member.closed(timeout=5 * UNIT_S) == 4009
    assert loop.time() - started < scene.server.settings.handshake_timeout_s + 2 * UNIT_S
    await scene.meeting_goes_on()


async def test_connection_exhaustion_from_one_address_is_capped_4013(scene: Scene) -> None:
    cap = scene.server.settings.max_conns_per_ip
    attacker = scene.from_new_address()
    held = [await attacker.connect() for _ in range(cap)]
    extra = await attacker.connect()
    assert await extra.closed() == 4013
    # Other addresses are unaffected: a newcomer still joins while the attacker holds its cap.
    newcomer = await scene.from_new_address().join("Newcomer")
    cid = await newcomer.say("made it in")
    await scene.bystander.event("msg", cid=cid)
    for member in held:
        await member.close()
    await scene.meeting_goes_on()


async def test_origin_check_runs_before_anything_else(scene: Scene) -> None:
    """A refused Origin costs no connection slot and reveals nothing about the meeting."""
    attacker = scene.from_new_address()
    for _ in range(scene.server.settings.max_conns_per_ip + 2):
        assert await expect_refused(attacker.connect, origin="https://evil.example") == 403
    member = await attacker.join("Afterwards")  # the cap was never touched
    assert member.welcome["role"] == "member"
    await scene.meeting_goes_on()
