"""uvicorn's sans-I/O WebSocket protocol, with a direct write path for the room hub.

Selected with ``--ws app.rooms.fastws:HavenWebSocketProtocol`` (``haven serve`` does this).
Everything uvicorn does stays as it is (handshake, keepalive pings, the ASGI receive path, close
handshake, size limits); we only add, in the connection's ASGI scope, the extension
``haven.direct`` pointing at the protocol object, so that :class:`~app.rooms.connection.
DirectConnection` can write prebuilt frame bytes to the transport without one ASGI ``send`` (and
one await) per recipient. Without this class (plain uvicorn, tests with another server) the
endpoint falls back to :class:`~app.rooms.connection.QueuedConnection`.

Why own this path: fan-out dominates a meeting server's CPU (one message, N recipients). Going
through ASGI costs a coroutine, a websockets ``Frame`` serialisation and a buffer join per
recipient; writing the shared frame costs one ``transport.write``.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

DIRECT_EXTENSION = "haven.direct"
ABORT_AFTER_S = 2.0
"""A peer that has not taken our close frame by then is cut off (it stopped reading)."""


class HavenWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        # The ASGI task was created but has not run yet, so it sees the extension.
        if scope is not None and not self.close_sent:
            scope["extensions"][DIRECT_EXTENSION] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The handshake's request and response and the scope's copy of the headers are
            # not needed any more (the endpoint checked Origin before accepting); on an idle
            # member they are a fifth of what the connection holds.
            del self.request, self.response
            self.scope["headers"] = []

    def close_now(self, code: int, reason: str) -> None:
        """Send a close frame now, without waiting for the write buffer to drain.

        The ASGI app learns of it through a ``websocket.disconnect`` event; the transport is
        aborted if the peer does not read it within :data:`ABORT_AFTER_S`.
        """
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(ABORT_AFTER_S, self.transport.abort)
