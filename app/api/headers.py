"""Security headers on every HTTP response, as pure ASGI middleware.

Pure ASGI rather than ``BaseHTTPMiddleware``: it adds headers to ``http.response.start``
without buffering bodies or wrapping the app in a task, so streaming responses and
WebSockets pass untouched (WebSocket handshakes get no headers: browsers ignore them there).

A header the application already set wins, so one route can loosen the CSP for itself
(``/api/docs`` does, to load Swagger UI) without loosening it for everyone.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
# Two years, the preload list's minimum; only sent when clients really come over TLS.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"

BASE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("permissions-policy", PERMISSIONS_POLICY),
    ("cross-origin-opener-policy", "same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, behind_tls: bool = False) -> None:
        self.app = app
        self.headers = BASE_HEADERS
        if behind_tls:
            self.headers += (("strict-transport-security", STRICT_TRANSPORT_SECURITY),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
