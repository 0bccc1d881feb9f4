"""Liveness, readiness and metrics endpoints for load balancers and Prometheus.

- ``GET /healthz``: the process answers (no I/O), for restarts.
- ``GET /readyz``: this worker can serve: the database answers ``SELECT 1`` and the room log
  answers ``ping()`` (skipped until the rooms package installs ``app.state.room_log``);
  200 or 503, with one word per check. Error details go to the log, not to the client. When
  the semantic crisis screen is on, ``crisis_model`` says ``loading``, ``ok`` or ``off``
  (informational: it never makes the worker unready).
- ``GET /metrics``: Prometheus text from this app's own registry.
"""

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.metrics import CONTENT_TYPE

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_room_log(request: Request) -> None:
    await request.app.state.room_log.ping()


@router.get(
    "/readyz",
    responses={503: {"description": "A dependency is not available"}},
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {"database": _check_database}
    if hasattr(request.app.state, "room_log"):
        checks["room_log"] = _check_room_log
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await check(request)
        # A readiness probe must answer 503 whatever a backend raises (driver errors share no
        # base class), so this edge catches broadly and logs the type only.
        except Exception as exc:  # noqa: BLE001
            logger.warning(
                "readiness check failed", extra={"check": name, "error": type(exc).__name__}
            )
            results[name] = "error"
        else:
            results[name] = "ok"
    if "room_log" not in results:
        results["room_log"] = "skipped"
    # Reported, never failing: without its model the semantic crisis screen is off and the
    # rules still screen every message (docs/moderation.md).
    rooms = getattr(request.app.state, "rooms", None)
    screen = getattr(rooms, "semantic", None)
    if screen is not None:
        results["crisis_model"] = (
            "loading" if not screen.ready.is_set() else "off" if screen.off else "ok"
        )
    ready = all(value != "error" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
