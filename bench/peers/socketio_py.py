"""python-socketio on uvicorn: join a room, emit, broadcast to the room.

Same semantics as the Node socket.io peer: the client emits "join" with a room name and gets
"joined" back; it emits "say" with a text and the server emits "msg" with that text to every
member of the room, the sender included.

Run: uvicorn bench.peers.socketio_py:app --ws websockets-sansio --ws-per-message-deflate False
"""

from __future__ import annotations

import socketio

from bench.servers import KEEPALIVE_S

sio = socketio.AsyncServer(
    async_mode="asgi",
    transports=["websocket"],
    cors_allowed_origins="*",
    max_http_buffer_size=16384,
    logger=False,
    engineio_logger=False,
    ping_interval=KEEPALIVE_S,
)
app = socketio.ASGIApp(sio)
# sid -> room name; a plain dict is cheaper than the per-sid session store.
ROOM_OF: dict[str, str] = {}


@sio.on("join")  # type: ignore[untyped-decorator]
async def join(sid: str, room: str) -> None:
    await sio.enter_room(sid, str(room))
    ROOM_OF[sid] = str(room)
    await sio.emit("joined", to=sid)


@sio.on("say")  # type: ignore[untyped-decorator]
async def say(sid: str, text: str) -> None:
    room = ROOM_OF.get(sid)
    if room is not None:
        await sio.emit("msg", text, room=room)


@sio.on("disconnect")  # type: ignore[untyped-decorator]
async def disconnect(sid: str, reason: str = "") -> None:
    ROOM_OF.pop(sid, None)
