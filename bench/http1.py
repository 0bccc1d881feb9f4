"""A tiny keep-alive HTTP/1.1 client for the generator's ticket requests.

Joining 10,000 Haven members takes 10,000 `POST .../tickets`; a general client (httpx) spends
about a millisecond of generator CPU on each, this one a few tens of microseconds, so the join
phase measures the server. It speaks just enough HTTP/1.1 for JSON APIs on loopback:
Content-Length or chunked bodies, keep-alive, reconnect when the server closes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    """The server answered with an unexpected status; `status` and `body` tell which."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer


class Http1Pool:
    """`size` keep-alive connections to one host:port, used one request at a time each."""

    def __init__(self, host: str, port: int, size: int = 8) -> None:
        self.host = host
        self.port = port
        self._idle: asyncio.Queue[_Conn | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # opened lazily

    async def _open(self) -> _Conn:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Conn(reader, writer)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request (a JSON body when `body` is not None); returns (status, body)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        conn = await self._idle.get()
        try:
            for attempt in (0, 1):
                if conn is None:
                    conn = await self._open()
                try:
                    conn.writer.write(raw)
                    status, data, keep = await self._read_response(conn.reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn.writer.close()
                    conn = None
                    if attempt:
                        raise
                    continue
                if not keep:
                    conn.writer.close()
                    conn = None
                return status, data
            raise AssertionError("unreachable")
        finally:
            self._idle.put_nowait(conn)

    async def json(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        status, data = await self.request(method, path, body, headers)
        if status not in expect:
            raise HttpError(status, data)
        return json.loads(data) if data else None

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                fields[name.strip().lower()] = value.strip()
        keep = fields.get("connection", "").lower() != "close"
        if "content-length" in fields:
            data = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            data = b"".join(parts)
        else:
            data = await reader.read()
            keep = False
        return status, data, keep

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn.writer.close()
