"""The room socket's place in the ASGI stack: in front of everything else in the app.

FastAPI wraps every connection in its own layers (telemetry, a body-size limit, Starlette's
error middleware) and then ours (access log, security headers, gzip, routing). None of them
adds anything to a WebSocket that lives for an hour, but each keeps a coroutine frame for the
whole connection and wraps every frame received. :class:`HavenApp` answers ``/ws`` before any
of them, which keeps about 10 KiB per idle member and a few microseconds per message out of
the budget. The access log lines for it ("websocket accepted", "websocket closed", route and
close code only) are written here.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.api.headers import SecurityHeadersMiddleware
from app.rooms.endpoint import room_socket

logger = logging.getLogger("app.access")

ROUTE = "/ws"


class HavenApp(FastAPI):
    """FastAPI, with the room socket served ahead of the middleware stack, and the security
    headers outside it."""

    def build_middleware_stack(self) -> ASGIApp:
        # Starlette's error middleware is the stack's outermost layer: the 500 it writes for an
        # unhandled exception passes through none of the middleware added with
        # ``add_middleware``. The security headers wrap it, so that page has them too.
        settings = getattr(self.state, "settings", None)
        behind_tls = bool(getattr(settings, "behind_tls", False))
        return SecurityHeadersMiddleware(super().build_middleware_stack(), behind_tls=behind_tls)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == ROUTE:
            scope["app"] = self
            await serve_room_socket(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def serve_room_socket(scope: Scope, receive: Receive, send: Send) -> None:
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
