"""What a real server writes to its log for HTTP and WebSocket traffic: templates, no data.

The server listens on 127.0.0.42 so the client address is distinctive, requests carry a
canary in the query string and the path, and the production handler (JSON lines, privacy
filter) records everything at INFO.
"""

import io
import json
from typing import Any

import httpx
from fastapi import FastAPI, WebSocket
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import connect

from app.config import Settings
from app.main import create_app
from tests.support.server import serve

CANARY = "CANARY-7f3a"
HOST = "127.0.0.42"


async def echo_once(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(text)
    await websocket.close(code=1000)


def app_with_echo(settings: Settings) -> FastAPI:
    app = create_app(settings)
    # First, ahead of the static mount that would otherwise catch the path.
    app.router.routes.insert(0, WebSocketRoute("/test-echo", echo_once))
    return app


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_http_access_lines_have_template_and_status_only(settings: Settings) -> None:
    stream = io.StringIO()
    async with (
        serve(settings, host=HOST, log_stream=stream) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await client.get(f"/healthz?ticket={CANARY}")
        await client.get(f"/no-such-page-{CANARY}")
    logged = stream.getvalue()
    assert CANARY not in logged
    assert HOST not in logged
    access = [e for e in entries(stream) if e["logger"] == "app.access"]
    assert [(e["method"], e["route"], e["status"]) for e in access[:1]] == [
        ("GET", "/healthz", 200)
    ]
    assert access[1]["status"] == 404 and CANARY not in access[1]["route"]
    assert not any(e["logger"] == "uvicorn.access" for e in entries(stream))


async def test_websocket_lines_say_accepted_and_closed_only(settings: Settings) -> None:
    stream = io.StringIO()
    async with serve(settings, host=HOST, app=app_with_echo(settings), log_stream=stream) as server:
        url = f"ws://{HOST}:{server.port}/test-echo?ticket={CANARY}"
        async with connect(url) as websocket:
            await websocket.send(f"I relapsed {CANARY}")
            assert await websocket.recv() == f"I relapsed {CANARY}"
    logged = stream.getvalue()
    assert CANARY not in logged
    assert HOST not in logged
    assert '"WebSocket' not in logged  # uvicorn's own line (address + path + query) is dropped
    ws = [e for e in entries(stream) if e["logger"] == "app.access"]
    assert [(e["msg"], e["route"]) for e in ws] == [
        ("websocket accepted", "/test-echo"),
        ("websocket closed", "/test-echo"),
    ]
    assert ws[1]["code"] == 1000
