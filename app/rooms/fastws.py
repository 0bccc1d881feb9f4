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

import asyncio
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State

DIRECT_EXTENSION = "haven.direct"
ABORT_AFTER_S = 2.0
"""A peer that has not taken our close frame by then is cut off (it stopped reading)."""


class Inbox:
    """What uvicorn uses of ``asyncio.Queue`` for a connection's received events, in a few
    hundred bytes instead of ~2.6 KiB.

    ``asyncio.Queue`` makes three deques and an ``Event`` (four 624-byte blocks) for every
    connection, for a queue that uvicorn keeps at most one message deep (it pauses reading
    until the app takes each message) and that is empty for most of an idle member's hour.
    Here a deque exists only while something is queued. Single consumer (the ASGI task).
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self) -> Any:
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class HavenWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self._app_done = False

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._app_done:
            self._release()

    def on_task_complete(self, task: asyncio.Task[None]) -> None:
        super().on_task_complete(task)
        self._app_done = True
        if self.disconnected:
            self._release()

    def _release(self) -> None:
        """Break the reference cycles a finished connection would otherwise leave for a full
        garbage collection: websockets' parser generator and its stored exception (whose
        traceback's frames hold the connection), and our own scope extension. With thousands
        of members leaving when a meeting ends, those cycles made one full collection take
        ~0.75 s here, during which every other room waited."""
        conn = self.conn
        conn.parser = None  # type: ignore[assignment]
        conn.parser_exc = None
        conn.handshake_exc = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(DIRECT_EXTENSION, None)

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
            self._forget_handshake_parser()

    def _forget_handshake_parser(self) -> None:
        """Restart websockets' parser at the frame loop it is waiting in, so that its handshake
        frame, which keeps the parsed request and all its headers alive for the connection's
        life (~2 KiB), goes away.

        Only when nothing of a frame is buffered: the old parser then sits at the top of
        ``Protocol.parse`` (waiting for data, no state of its own beyond the connection's), where
        a fresh one starts too.
        """
        conn = self.conn
        if conn.state is not State.OPEN or conn.reader.buffer:
            return
        conn.parser = Protocol.parse(conn)
        next(conn.parser)

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
