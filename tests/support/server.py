"""Run the real app under a real uvicorn server inside the test's event loop.

``serve(settings)`` is an async context manager yielding a ``LiveServer`` once uvicorn has
bound its socket and the app's lifespan has started (an event set by ``startup``, not a
sleep); leaving it shuts the server down gracefully and waits for it. The uvicorn options
(WebSocket implementation, frame limit, no compression, keepalive, no access log) are the
ones ``haven serve`` uses, from ``app.cli.uvicorn_options``.

Fixtures: ``settings`` (a fresh data_dir under tmp_path; override it in a module to change
configuration) and ``live_server`` (``serve(settings)`` on 127.0.0.1). For another loopback
address, e.g. privacy tests: ``async with serve(settings, host="127.0.0.42") as server``.
"""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.cli import uvicorn_options
from app.config import Settings
from app.logs import build_handler
from app.main import LifespanHook, create_app
from app.store.engine import create_engine
from app.store.migrate import upgrade

# Loggers of the test's own HTTP/WebSocket clients: they run in this process, but what they
# log (full URLs) is not what the server writes, so the server's log stream leaves them out.
CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client")

STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 5


@dataclass(frozen=True)
class LiveServer:
    """A running server: ``url`` is ``http://HOST:PORT`` (no trailing slash)."""

    host: str
    port: int
    app: FastAPI
    settings: Settings

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The room WebSocket endpoint, ``ws://HOST:PORT/ws``."""
        return f"ws://{self.host}:{self.port}/ws"


class _InLoopServer(uvicorn.Server):
    """uvicorn.Server that reports readiness and leaves signals and the process alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns SIGINT; uvicorn would otherwise swallow Ctrl+C during a test.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit as exc:  # uvicorn exits the process when start-up fails
            raise RuntimeError("the app failed to start; see the log above") from exc
        if self.started:
            self.ready.set()


def _bound_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto given explicitly: asyncio sets TCP_NODELAY on accepted sockets only when their
    # proto says TCP, and a socket made with proto 0 passes 0 on to what it accepts (Nagle on:
    # a frame sent right after another would wait for the client's delayed ACK, ~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


async def migrate_database(settings: Settings) -> None:
    """Bring the settings' database to head (what ``haven serve`` does on SQLite)."""
    engine = create_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    app: FastAPI | None = None,
    hooks: Sequence[LifespanHook] = (),
    migrate: bool = True,
    log_stream: IO[str] | None = None,
    **uvicorn_overrides: Any,
) -> AsyncIterator[LiveServer]:
    """Serve ``app`` (default ``create_app(settings, hooks=hooks)``) on ``host``, random port.

    ``migrate`` first upgrades the database. ``log_stream`` attaches Haven's production log
    handler (JSON lines, privacy filter) to the root logger for the server's lifetime, at
    INFO, so a test can inspect exactly what would be written (the test's own HTTP and
    WebSocket clients' loggers excepted, see ``CLIENT_LOGGERS``). ``uvicorn_overrides`` replace
    individual ``uvicorn.Config`` arguments.
    """
    if migrate:
        await migrate_database(settings)
    if app is None:
        app = create_app(settings, hooks=hooks)
    sock = _bound_socket(host)
    port = sock.getsockname()[1]
    options: dict[str, Any] = {
        **uvicorn_options(settings),
        "host": host,
        "port": port,
        "log_config": None,  # keep pytest's logging (caplog) in place
        "log_level": "info",
        "timeout_graceful_shutdown": SHUTDOWN_TIMEOUT_S,
        **uvicorn_overrides,
    }
    server = _InLoopServer(uvicorn.Config(app, **options))
    # uvicorn decides per connection whether to write its access line (client address and
    # query string included) by asking whether the logger has handlers, and pytest attaches
    # its capture handler to every non-propagating logger. Silence the logger itself.
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.CRITICAL)
    access.disabled = True

    root = logging.getLogger()
    handler = None
    old_level = root.level
    if log_stream is not None:
        handler = build_handler(log_stream, json_lines=True)
        handler.addFilter(lambda record: not record.name.startswith(CLIENT_LOGGERS))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    ready = asyncio.create_task(server.ready.wait(), name="uvicorn-ready")
    try:
        await asyncio.wait(
            {serving, ready}, timeout=STARTUP_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if not ready.done():
            ready.cancel()
            if not serving.done():
                serving.cancel()  # stuck in start-up: should_exit would not be seen
                await asyncio.wait({serving})
                raise TimeoutError(f"uvicorn not ready after {STARTUP_TIMEOUT_S} s")
            serving.result()  # raises the start-up error
            raise RuntimeError("uvicorn stopped before it was ready")
        yield LiveServer(host=host, port=port, app=app, settings=settings)
    finally:
        server.should_exit = True
        try:
            # Re-raises anything the server task died of, so a crash fails the test.
            if not serving.cancelled():
                await serving
        finally:
            sock.close()
            if handler is not None:
                root.removeHandler(handler)
                root.setLevel(old_level)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data_dir (SQLite database and secret key under tmp_path)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The real app on 127.0.0.1, random port, database migrated; stopped after the test."""
    async with serve(settings) as server:
        yield server


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the live server."""
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        yield client
