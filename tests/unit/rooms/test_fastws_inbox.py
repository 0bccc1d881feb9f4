"""The connection's receive inbox: what uvicorn needs of asyncio.Queue, in order, without the
per-connection deques of an empty queue."""

import asyncio
import sys

import pytest

from app.rooms.fastws import Inbox


async def test_events_come_out_in_order_and_a_waiting_reader_wakes() -> None:
    inbox = Inbox()
    assert inbox.empty() and inbox.qsize() == 0
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "a"})
    assert await asyncio.wait_for(reader, 1) == {"type": "websocket.connect"}
    assert inbox.qsize() == 1 and not inbox.empty()
    assert await inbox.get() == {"type": "websocket.receive", "text": "a"}
    assert inbox.empty()


async def test_a_cancelled_reader_loses_nothing() -> None:
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put_nowait("after")
    assert await asyncio.wait_for(inbox.get(), 1) == "after"


def test_an_empty_inbox_is_small() -> None:
    inbox = Inbox()
    inbox.put_nowait("x")
    asyncio.run(inbox.get())
    queue: asyncio.Queue[object] = asyncio.Queue()
    held = sys.getsizeof(inbox) + sys.getsizeof(inbox._items)
    deques = [queue._queue, queue._getters, queue._putters, queue._finished._waiters]  # type: ignore[attr-defined]
    assert held * 10 < sum(sys.getsizeof(d) for d in deques)


def test_the_handshake_request_is_freed_and_frames_still_parse() -> None:
    import gc
    import weakref
    from types import SimpleNamespace

    from websockets.frames import Frame, Opcode
    from websockets.server import ServerProtocol

    from app.rooms.fastws import HavenWebSocketProtocol

    conn = ServerProtocol()
    conn.receive_data(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Origin: http://x\r\n\r\n"
    )
    (request,) = conn.events_received()
    conn.send_response(conn.accept(request))
    seen = weakref.ref(request)
    del request
    gc.collect()
    assert seen() is not None  # the handshake parser's frame holds it

    HavenWebSocketProtocol._forget_handshake_parser(SimpleNamespace(conn=conn))  # type: ignore[arg-type]
    gc.collect()
    assert seen() is None

    frame = Frame(Opcode.TEXT, b'{"t":"ping"}').serialize(mask=True, extensions=[])
    conn.receive_data(frame)
    (received,) = conn.events_received()
    assert received.data == b'{"t":"ping"}'
