"""FastAPI's own OpenTelemetry instrumentation stays off, even where a provider is configured.

FastAPI (0.16x) records a span per request, with the query string, and log records for
exceptions, with their messages, as soon as the process has an OpenTelemetry provider. Here
every provider is a recorder, as if an exporter had been set up in the process; Haven's app
must never ask any of them for anything, while a plain FastAPI app, the control, does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import _logs, metrics, trace

from app.config import Settings
from tests.privacy.meeting_script import OTHER_ADDRESS, SERVER_ADDRESS, http_from
from tests.support.server import serve

pytestmark = pytest.mark.skipif(
    "telemetry" not in inspect.signature(FastAPI.__init__).parameters,
    reason="this FastAPI has no instrumentation of its own",
)


class Asked:
    """Records which provider was asked for what."""

    def __init__(self) -> None:
        self.calls: list[str] = []


def recording_providers(asked: Asked) -> dict[str, Callable[[], Any]]:
    class Tracers(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            asked.calls.append("tracer")
            return trace.NoOpTracer()

    class Meters(metrics.MeterProvider):
        def get_meter(self, name: str, *args: Any, **kwargs: Any) -> metrics.Meter:
            asked.calls.append("meter")
            return metrics.NoOpMeter(name)

    class Loggers(_logs.LoggerProvider):
        def get_logger(self, name: str, *args: Any, **kwargs: Any) -> _logs.Logger:
            asked.calls.append("logger")
            return _logs.NoOpLogger(name)

    tracers, meters, loggers = Tracers(), Meters(), Loggers()
    return {
        "tracer": lambda: tracers,
        "meter": lambda: meters,
        "logger": lambda: loggers,
    }


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Asked:
    asked = Asked()
    providers = recording_providers(asked)
    monkeypatch.setattr(trace, "get_tracer_provider", providers["tracer"])
    monkeypatch.setattr(metrics, "get_meter_provider", providers["meter"])
    monkeypatch.setattr(_logs, "get_logger_provider", providers["logger"])
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    return asked


async def test_a_plain_fastapi_app_would_report_each_request(asked: Asked) -> None:
    app = FastAPI()

    @app.get("/hello")
    async def hello(q: str = "") -> dict[str, str]:
        return {"q": q}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/hello", params={"q": "passcode"})).status_code == 200
    assert asked.calls  # the recorders see a configured process: the control works


async def test_haven_reports_nothing_to_a_configured_provider(
    asked: Asked, settings: Settings
) -> None:
    async with (
        serve(settings, host=SERVER_ADDRESS) as server,
        http_from(server, OTHER_ADDRESS) as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/no-such-page", params={"q": "passcode"})).status_code == 404
        login = await http.post(
            "/api/auth/login", json={"username": "nobody", "password": "passcode"}
        )
        assert login.status_code == 401
    assert asked.calls == []
