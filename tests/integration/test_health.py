"""Health, readiness, metrics and security headers, through a real uvicorn."""

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from app.api.headers import CONTENT_SECURITY_POLICY
from app.config import Settings
from tests.support.server import LiveServer, serve


async def test_healthz_answers_ok(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"].pop("crisis_model", "ok") in ("loading", "ok")
    assert body["checks"] == {"database": "ok", "room_log": "skipped"}


async def test_readyz_is_503_when_the_room_log_fails(live_server: LiveServer) -> None:
    class BrokenLog:
        async def ping(self) -> None:
            raise ConnectionError("redis is down")

    live_server.app.state.room_log = BrokenLog()
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    body["checks"].pop("crisis_model", None)
    assert body == {"status": "unavailable", "checks": {"database": "ok", "room_log": "error"}}


async def test_readyz_is_503_when_the_database_is_gone(live_server: LiveServer) -> None:
    # An engine whose every connection fails, as when the database server is down.
    broken = create_async_engine("sqlite+aiosqlite:////nonexistent/dir/haven.db")
    live_server.app.state.engine = broken
    try:
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            response = await client.get("/readyz")
    finally:
        await broken.dispose()
    assert response.status_code == 503
    body = response.json()
    body["checks"].pop("crisis_model", None)
    assert body == {"status": "unavailable", "checks": {"database": "error", "room_log": "skipped"}}


async def test_metrics_are_prometheus_text(live_server: LiveServer) -> None:
    live_server.app.state.metrics.messages_in.inc(3)
    live_server.app.state.metrics.verdict("hold", "harassment")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "haven_messages_in_total 3.0" in body
    assert 'haven_moderation_verdicts_total{action="hold",category="harassment"} 1.0' in body
    for name in (
        "haven_connections",
        "haven_rooms",
        "haven_events_out_total",
        "haven_reconnects_total",
        "haven_send_overflows_total",
        "haven_errors_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in body


async def test_security_headers_on_every_response(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for path in ("/healthz", "/does-not-exist"):
            headers = (await client.get(path)).headers
            assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["permissions-policy"] == (
                "camera=(), microphone=(), geolocation=(), interest-cohort=()"
            )
            assert headers["cross-origin-opener-policy"] == "same-origin"
            assert "strict-transport-security" not in headers
            assert "server" not in headers


async def test_hsts_only_behind_tls(settings: Settings) -> None:
    tls = settings.model_copy(update={"behind_tls": True})
    async with serve(tls) as server, httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_openapi_is_under_api(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        schema = (await client.get("/api/openapi.json")).json()
        docs = await client.get("/api/docs")
    assert "/healthz" in schema["paths"]
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
