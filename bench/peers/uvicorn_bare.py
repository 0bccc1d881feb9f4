"""Minimal room broadcast on bare uvicorn (`--ws websockets-sansio`): the floor of the stack.

No framework, no validation: rooms are a dict of sets and a broadcast is one ASGI
`websocket.send` per recipient, awaited in turn, which is the cheapest thing a plain ASGI
application can do. Same semantics as every peer: first text frame `{"t":"join","room":NAME}`,
answered by `{"t":"joined"}`; every later text frame goes verbatim to all room members,
the sender included.

Run: uvicorn bench.peers.uvicorn_bare:app --ws websockets-sansio --ws-per-message-deflate False
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

ROOMS: dict[str, set[Send]] = {}


async def app(scope: Message, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            if (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    room: set[Send] | None = None
    try:
        while True:
            event = await receive()
            kind = event["type"]
            if kind == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif kind == "websocket.disconnect":
                return
            elif room is None:
                room = ROOMS.setdefault(json.loads(event["text"])["room"], set())
                room.add(send)
                await send({"type": "websocket.send", "text": '{"t":"joined"}'})
            else:
                text = event["text"]
                for peer in tuple(room):
                    try:
                        await peer({"type": "websocket.send", "text": text})
                    except OSError:  # ClientDisconnected: that peer leaves on its own receive.
                        room.discard(peer)
    finally:
        if room is not None:
            room.discard(send)
