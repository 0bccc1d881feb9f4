"""uvicorn's HTTP protocol with a deadline for receiving each request (slowloris).

uvicorn bounds the idle time between two requests on a kept-alive connection
(``timeout_keep_alive``) but not the time a client takes to send one: a client that opens a
connection and then sends its request, or its WebSocket upgrade, one byte a second holds a
socket, a parser and a file descriptor for as long as it likes, and a few thousand such clients
starve the server. This protocol is uvicorn's httptools protocol plus one timer: a connection
whose request has not fully arrived (head and body) within ``request_timeout_s`` of the
connection opening, or of the request's first byte on a kept-alive connection, is closed.

The timer stops when the request is complete or when the connection is handed to the WebSocket
protocol, whose own deadline for the opening frame (``handshake_timeout_s``, 4009) takes over.
It never bounds the application: a slow handler or a long-lived WebSocket is not affected.
``haven serve`` and the test server use it through ``app.cli.uvicorn_options``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_REQUEST_TIMEOUT_S = 10.0


class DeadlineHttpProtocol(HttpToolsProtocol):
    def __init__(
        self, *args: Any, request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout_s = request_timeout_s
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()
        # The WebSocket protocol owns the transport now; this object is done. uvicorn drops
        # the parser (which refers back to us) only in connection_lost, which never comes
        # here: without this the pair waits for a full garbage collection.
        self.parser = None  # type: ignore[assignment]

    def _arm(self) -> None:
        # Armed once per request: a byte now and then must not push the deadline back.
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
