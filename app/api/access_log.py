"""The access log that replaces uvicorn's: method, route template, status. Nothing else.

uvicorn's access log writes the client address and the full path with its query string;
a path like ``/api/meetings/{meeting_id}`` already names a meeting, and a query could carry
a ticket. This logs the *template* of the matched route (``/api/meetings/{meeting_id}``),
``<unmatched>`` when no route matched, the status and the duration. WebSockets log only
"websocket accepted" and "websocket closed" with the route template and close code.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("app.access")

UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The path template of the route the router matched, or ``<unmatched>``.

    FastAPI puts its own routes in ``scope["route"]``; for plain Starlette routes and mounts
    (the OpenAPI route, static files) only ``scope["endpoint"]`` is left, so the route is
    found again among the router's routes.
    """
    route = scope.get("route")
    if route is None and "endpoint" in scope:
        endpoint = scope["endpoint"]
        routes = getattr(scope.get("router"), "routes", ())
        route = next(
            (
                candidate
                for candidate in routes
                if getattr(candidate, "endpoint", None) is endpoint
                or getattr(candidate, "app", None) is endpoint
            ),
            None,
        )
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) and template else UNMATCHED


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500  # what the server sends if the app fails before starting a response
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope["method"]
            route = route_template(scope)
            ms = round((time.perf_counter() - started) * 1000, 1)
            logger.info(
                "%s %s %d",
                method,
                route,
                status,
                extra={"method": method, "route": route, "status": status, "ms": ms},
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted = False
        code: int | None = None

        async def receive_and_note() -> Message:
            nonlocal code
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", 1005)
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal accepted, code
            if message["type"] == "websocket.accept":
                accepted = True
                logger.info("websocket accepted", extra={"route": route_template(scope)})
            elif message["type"] == "websocket.close" and code is None:
                code = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive_and_note, send_and_note)
        finally:
            route = route_template(scope)
            if accepted:
                logger.info("websocket closed", extra={"route": route, "code": code})
            else:
                logger.info("websocket rejected", extra={"route": route, "code": code})
