"""The application factory: ``create_app(settings) -> FastAPI``.

Contract:
- Nothing is built at import time. ``create_app`` takes Settings (or loads them from the
  environment, which is what ``uvicorn --factory app.main:create_app`` does in each worker).
- At creation: ``app.state.settings`` and ``app.state.metrics`` (a fresh registry per app).
- During the lifespan: ``app.state.engine`` (AsyncEngine) and ``app.state.sessionmaker``
  (``async_sessionmaker[AsyncSession]``), then every lifespan hook is entered in order
  (``LIFESPAN_HOOKS``, then the ``hooks`` argument) and exited in reverse; the engine is
  disposed last. The database schema is NOT migrated here (several workers would race):
  ``haven serve`` and the test server fixture migrate before starting.
- A lifespan hook is ``Callable[[FastAPI], AbstractAsyncContextManager[None]]``, typically
  an ``@asynccontextmanager`` function that puts its objects on ``app.state``, yields, and
  closes them.
- Routes: API routers are included below, then ``web/`` is mounted at ``/`` if it exists.
  The mount catches every path, so routes added after ``create_app`` returns are shadowed:
  add routers here.
"""

import base64
import hashlib
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.api import health, pages
from app.api.access_log import AccessLogMiddleware
from app.api.validation import unencodable_text_handler, validation_error_handler
from app.auth import router as auth_router
from app.config import Settings, load_settings
from app.logs import route_stray_output
from app.meetings import router as meetings_router
from app.meetings.lifespan import meetings_lifespan
from app.metrics import Metrics
from app.rooms import router as rooms_router
from app.rooms.asgi import HavenApp
from app.rooms.lifespan import rooms_lifespan
from app.store.engine import create_engine, create_sessionmaker

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"
# Swagger UI comes from a CDN, pinned to one release and checked against its digests
# (Subresource Integrity: a changed file is refused, not run with a facilitator's session);
# its one inline script is allowed by its own digest. Only this page gets this policy.
SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0"
SWAGGER_JS_SRI = "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"
SWAGGER_CSS_SRI = "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"
SWAGGER_INIT = (
    "SwaggerUIBundle({url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true})"
)
_INIT_DIGEST = base64.b64encode(hashlib.sha256(SWAGGER_INIT.encode()).digest()).decode()
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'sha256-{_INIT_DIGEST}'; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Haven API</title>
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css" integrity="{SWAGGER_CSS_SRI}"
 crossorigin="anonymous"></head>
<body><div id="swagger-ui"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js" integrity="{SWAGGER_JS_SRI}"
 crossorigin="anonymous"></script>
<script>{SWAGGER_INIT}</script>
</body></html>
"""

# Domain start-up/shut-down, in order. Packages add theirs here, e.g. the room log + hub.
LIFESPAN_HOOKS: tuple[LifespanHook, ...] = (meetings_lifespan, rooms_lifespan)


def haven_version() -> str:
    try:
        return version("haven")
    except PackageNotFoundError:  # running from a tree that was never pip-installed
        return "0+unknown"


TELEMETRY_OFF = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""FastAPI's own OpenTelemetry instrumentation, switched off whatever the environment says.

Since FastAPI 0.16x, an app records spans for every request (with the query string as
``url.query``) and log records for exceptions (their messages and stack traces, which can
quote what a member wrote) as soon as an OpenTelemetry provider is configured in the
process, and ``FASTAPI_OTEL_AUTO_CONFIGURE=true`` in the environment adds exporters that send
them out. Haven keeps its logs free of message text, names and addresses
(docs/privacy.md), and its metrics are its own (``/metrics``), so none of it is turned on.
"""


def telemetry_off() -> dict[str, Any]:
    """``FastAPI(telemetry=TELEMETRY_OFF)``, or nothing with a FastAPI that has no such option
    (and so no instrumentation to turn off)."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": dict(TELEMETRY_OFF)}
    return {}


def create_app(settings: Settings | None = None, *, hooks: Sequence[LifespanHook] = ()) -> FastAPI:
    """Build the ASGI app. ``hooks`` run after ``LIFESPAN_HOOKS`` (tests add their own)."""
    settings = settings if settings is not None else load_settings()
    all_hooks = (*LIFESPAN_HOOKS, *hooks)
    route_stray_output()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            async with AsyncExitStack() as stack:
                for hook in all_hooks:
                    await stack.enter_async_context(hook(app))
                yield
        finally:
            await engine.dispose()

    # HavenApp answers /ws ahead of the HTTP layers below (app/rooms/asgi.py).
    app = HavenApp(
        title="Haven",
        version=haven_version(),
        lifespan=lifespan,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        **telemetry_off(),
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    # Text UTF-8 cannot encode (a lone surrogate) is a 422 invalid_text, never a 500: request
    # models refuse it first; these answer for the error list and any route they missed.
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(UnicodeEncodeError, unencodable_text_handler)

    # Last added runs first: the access log sees the final status. Compression keeps the web
    # client's first visit within its 60 KB budget on slow links. The security headers are
    # the outermost layer of all (``HavenApp.build_middleware_stack``), 500 pages included.
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(AccessLogMiddleware)

    app.include_router(health.router)
    app.include_router(auth_router.router)
    app.include_router(meetings_router.router)
    app.include_router(rooms_router.router)
    # Other routers go here, before the static mount.

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers={"content-security-policy": DOCS_CSP})

    app.include_router(pages.router)
    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
