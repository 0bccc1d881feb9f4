"""One member's socket, as the hub sees it: push frames without waiting, close when it lags.

Fan-out never lets one slow connection hurt others (see websockets' "broadcast" topic: waiting
for a slow reader's backpressure stalls everyone). So the hub never awaits a send: it pushes
onto a bounded buffer and moves on; a connection whose buffer overflows is closed with the
resumable close code 4008, and its member resumes from their last seq when the link recovers.

Two implementations:

- :class:`DirectConnection`, used when the server runs with :mod:`app.rooms.fastws`: the frame
  bytes of an event are built once (server frames are unmasked and uncompressed, so identical
  for every recipient) and written straight to each transport; the transport's write buffer is
  the bounded queue. No task and no await per recipient.
- :class:`QueuedConnection`, the portable ASGI path: a bounded ``asyncio.Queue`` and one writer
  task per connection that awaits ``websocket.send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from app.rooms.types import MemberId
from app.tasks import cancel_and_wait

logger = logging.getLogger("haven.rooms")

TOO_SLOW = 4008


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final WebSocket text frame carrying ``payload`` (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class Outgoing:
    """One encoded event, shared by all recipients; its frame is built at most once."""

    __slots__ = ("payload", "_frame", "_text")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self._frame: bytes | None = None
        self._text: str | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.payload)
        return self._frame

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.payload.decode()
        return self._text


class Connection(Protocol):
    id: str
    member: MemberId
    closed: bool

    def push(self, items: list[Outgoing]) -> None:
        """Queue frames for sending; never blocks. Overflow closes the connection (4008)."""

    def close(self, code: int, reason: str = "") -> None:
        """Close soon with ``code``; idempotent; never blocks."""


class DirectConnection:
    """Writes prebuilt frames to the uvicorn protocol's transport (see :mod:`app.rooms.fastws`)."""

    __slots__ = ("id", "member", "closed", "_proto", "_transport", "_max_bytes", "_on_overflow")

    def __init__(
        self,
        conn_id: str,
        member: MemberId,
        proto: Any,
        max_bytes: int,
        on_overflow: Callable[[], None],
    ) -> None:
        self.id = conn_id
        self.member = member
        self.closed = False
        self._proto = proto
        self._transport: asyncio.Transport = proto.transport
        self._max_bytes = max_bytes
        self._on_overflow = on_overflow

    def push(self, items: list[Outgoing]) -> None:
        if self.closed or self._proto.close_sent or self._proto.disconnected:
            return
        if len(items) == 1:
            self._transport.write(items[0].frame)
        else:
            self._transport.write(b"".join(item.frame for item in items))
        if self._transport.get_write_buffer_size() > self._max_bytes:
            self._on_overflow()
            self.close(TOO_SLOW, "too slow: resume")

    def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._proto.close_now(code, reason)


class QueuedConnection:
    """The ASGI path: a bounded queue drained by one writer task."""

    def __init__(
        self,
        conn_id: str,
        member: MemberId,
        send_text: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        max_frames: int,
        on_overflow: Callable[[], None],
    ) -> None:
        self.id = conn_id
        self.member = member
        self.closed = False
        self._send_text = send_text
        self._close = close
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max_frames)
        self._on_overflow = on_overflow
        self._close_code: tuple[int, str] | None = None
        self._writer = asyncio.get_running_loop().create_task(self._write())

    def push(self, items: list[Outgoing]) -> None:
        if self.closed:
            return
        try:
            for item in items:
                self._queue.put_nowait(item.text)
        except asyncio.QueueFull:
            self._on_overflow()
            self.close(TOO_SLOW, "too slow: resume")

    def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._close_code = (code, reason)
        # Frames still queued are dropped: the member resumes from its last seq.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def _write(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                if text is None:
                    break
                await self._send_text(text)
        except (OSError, RuntimeError) as exc:
            # The peer went away mid-send: the endpoint's receive loop sees the disconnect.
            logger.debug("send failed: %s", type(exc).__name__)
            self.closed = True
            return
        if self._close_code is not None:
            with contextlib.suppress(OSError, RuntimeError):
                async with asyncio.timeout(2):
                    await self._close(*self._close_code)

    async def aclose(self) -> None:
        """Stop the writer: let a pending close frame go out, otherwise the socket is gone."""
        self.closed = True
        if self._close_code is not None and not self._writer.done():
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(3):
                    await asyncio.shield(self._writer)
        await cancel_and_wait(self._writer)
