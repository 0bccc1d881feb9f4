"""A TCP proxy between a client (a browser) and the server, to break the link on purpose.

Playwright's offline mode does not cut WebSockets that are already open, and CDP throttling
does not delay their messages (../shared/ECOSYSTEM.md), so tests that need a bad mobile link
put this proxy in front of the live server and point the browser at it.

Modes (``proxy.mode = ...``):

- ``pass``: bytes flow both ways.
- ``blackhole``: nothing flows and nothing is closed: like a phone in a dead zone. Bytes that
  arrive are dropped, so a connection that lived through a blackhole has lost part of its
  stream and is reset when the mode changes back (a real TCP stream never loses bytes; after a
  long outage a carrier's NAT forgets the mapping and the next packet gets a reset).
  Connections opened during the blackhole hang, and are reset the same way.
- ``reset``: every open connection is closed at once with a TCP reset, and new ones are
  reset as they arrive.

``serve_proxy(host, port)`` is an async context manager yielding a running :class:`Proxy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["pass", "blackhole", "reset"]
CHUNK = 65536


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    broken: bool = False
    """Lost bytes in a blackhole: its stream is no longer whole."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close with RST instead of FIN (SO_LINGER 0), as a dropped mobile link would look."""
    if writer is None or writer.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._mode: Mode = "pass"
        self.pipes: set[_Pipe] = set()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.accepted = 0

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        old, self._mode = self._mode, mode
        if mode == "reset" or (old == "blackhole" and mode == "pass"):
            for pipe in list(self.pipes):
                if mode == "reset" or pipe.broken:
                    self._kill(pipe)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _kill(self, pipe: _Pipe) -> None:
        _reset(pipe.client)
        _reset(pipe.upstream)
        for task in pipe.tasks:
            task.cancel()
        self.pipes.discard(pipe)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        pipe = _Pipe(client=writer)
        if self._mode == "reset":
            _reset(writer)
            return
        self.pipes.add(pipe)
        if self._mode == "blackhole":
            pipe.broken = True
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._kill(pipe)
            return
        pipe.upstream = up_writer
        if pipe not in self.pipes:  # reset while connecting
            _reset(up_writer)
            return
        loop = asyncio.get_running_loop()
        pipe.tasks = [
            loop.create_task(self._pump(pipe, reader, up_writer)),
            loop.create_task(self._pump(pipe, up_reader, writer)),
        ]
        await asyncio.gather(*pipe.tasks, return_exceptions=True)
        self.pipes.discard(pipe)
        for w in (writer, up_writer):
            with contextlib.suppress(OSError, RuntimeError):
                w.close()

    async def _pump(
        self, pipe: _Pipe, src: asyncio.StreamReader, dst: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                data = await src.read(CHUNK)
                if not data:
                    break
                if self._mode != "pass" or pipe.broken:
                    pipe.broken = True  # dropped on the floor, like a dead radio link
                    continue
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not pipe.broken:
                with contextlib.suppress(OSError, RuntimeError):
                    dst.write_eof()


@contextlib.asynccontextmanager
async def serve_proxy(upstream_host: str, upstream_port: int) -> AsyncIterator[Proxy]:
    proxy = Proxy(upstream_host, upstream_port)
    proxy.server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
    proxy.port = proxy.server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        proxy.server.close()
        for pipe in list(proxy.pipes):
            proxy._kill(pipe)
        await proxy.server.wait_closed()
