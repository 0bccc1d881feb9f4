"""The room socket's place in the ASGI stack: in front of the HTTP middleware.

The HTTP middleware (access log, security headers, gzip, routing, FastAPI's exit stack) adds
nothing to a WebSocket that lives for an hour, but every layer keeps a coroutine frame for the
whole connection and wraps every frame received. Serving ``/ws`` here keeps about 10 KiB per
idle member and a few microseconds per message out of the budget. The access log lines for it
("websocket accepted", "websocket closed", route and close code only) are written here.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.rooms.endpoint import room_socket

logger = logging.getLogger("app.access")

ROUTE = "/ws"


class RoomSocketRoute:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != ROUTE:
            await self.app(scope, receive, send)
            return
        accepted = False
        code: int | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal accepted, code
            if message["type"] == "websocket.accept":
                accepted = True
                logger.info("websocket accepted", extra={"route": ROUTE})
            elif message["type"] == "websocket.close":
                code = message.get("code", 1000)
            await send(message)

        try:
            await room_socket(WebSocket(scope, receive, send_and_note))
        finally:
            line = "websocket closed" if accepted else "websocket rejected"
            logger.info(line, extra={"route": ROUTE, "code": code})
