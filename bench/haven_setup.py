"""Haven under test: a throwaway data directory, a facilitator, and meetings to load.

Limits that exist to stop one abusive client are lifted for the bench, because every generated
member comes from 127.0.0.1 and a few senders carry a whole room's traffic: the bench measures
the delivery path (protocol validation, moderation, reducer, log, fan-out), not the throttles.
Everything else keeps its default (send queue bounds, frame limits, ping, moderation policy
except the newcomer hold, which would hold every bench member's first two messages for review).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.http1 import Http1Pool
from bench.servers import KEEPALIVE_S

USERNAME = "bench"
PASSWORD = "bench-password-not-secret"  # throwaway account in a throwaway data directory

BENCH_ENV = {
    "HAVEN_LOG_LEVEL": "warning",
    # Above what one sender needs at the top step of (e): 500,000 deliveries/s in rooms of 20
    # with 2 senders each is 250 messages/s per sender.
    "HAVEN_RATE_PER_S": "1000",
    "HAVEN_RATE_BURST": "10000",
    "HAVEN_MAX_CONNS_PER_IP": "100000",
    "HAVEN_JOIN_RATE_PER_IP": "1000000/minute",
    "HAVEN_TICKET_TTL_S": "600",
    "HAVEN_PING_INTERVAL_S": str(KEEPALIVE_S),  # bench.servers.KEEPALIVE_S
}
# Per-meeting moderation overrides for bench rooms (see app/moderation/policy.py).
BENCH_POLICY: dict[str, Any] = {"newcomer_cooldown": 0}


def haven_exe() -> str:
    exe = Path(sys.executable).with_name("haven")
    return str(exe) if exe.exists() else "haven"


def settings_fields() -> set[str]:
    """Names of Haven's settings, to pass only switches this version knows (it refuses others)."""
    try:
        from app.config import Settings
    except ImportError:
        return set()
    return set(Settings.model_fields)


def env_for(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**BENCH_ENV, "HAVEN_DATA_DIR": str(data_dir), **(extra or {})}
    return env


def prepare(data_dir: Path, env: dict[str, str]) -> None:
    """Create the schema and the bench facilitator (password on stdin, as the CLI wants)."""
    full = {**os.environ, **env}
    subprocess.run(
        [haven_exe(), "db", "upgrade"], env=full, check=True, capture_output=True, timeout=120
    )
    subprocess.run(
        [haven_exe(), "facilitator", "add", USERNAME],
        env=full,
        input=(PASSWORD + "\n").encode(),
        check=True,
        capture_output=True,
        timeout=120,
    )


async def login(port: int) -> str:
    http = Http1Pool("127.0.0.1", port, size=1)
    try:
        reply = await http.json(
            "POST", "/api/auth/login", {"username": USERNAME, "password": PASSWORD}
        )
    finally:
        await http.close()
    return str(reply["token"])


async def create_meetings(
    port: int,
    token: str,
    count: int,
    capacity: int,
    label: str,
    policy: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    """`count` unlisted meetings without lobby, each for `capacity` members; returns their ids."""
    http = Http1Pool("127.0.0.1", port, size=4)
    headers = {"Authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(4)

    async def one(i: int) -> str:
        body = {
            "title": f"Bench {label} {i}",
            "capacity": capacity,
            "lobby": False,
            "listed": False,
            "policy": policy if policy is not None else BENCH_POLICY,
        }
        async with gate:
            reply = await http.json("POST", "/api/meetings", body, headers)
        return str(reply["id"])

    try:
        return tuple(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        await http.close()


async def screen_totals(port: int) -> tuple[float, float] | None:
    """(seconds, messages): the event loop's time screening chat messages and the verdicts it
    gave, from Haven's /metrics; None when this Haven does not report the time."""
    http = Http1Pool("127.0.0.1", port, size=1)
    try:
        status, body = await http.request("GET", "/metrics")
    finally:
        await http.close()
    return screen_totals_of(body.decode()) if status == 200 else None


def screen_totals_of(metrics: str) -> tuple[float, float] | None:
    """:func:`screen_totals` from the text of /metrics."""
    totals = {
        family.name: sum(s.value for s in family.samples if s.name.endswith("_total"))
        for family in text_string_to_metric_families(metrics)
    }
    seconds = totals.get("haven_moderation_screen_seconds")
    return None if seconds is None else (seconds, totals.get("haven_moderation_verdicts", 0.0))


async def settled(port: int, within_s: float = 60.0) -> None:
    """Wait until the server's start-up work is done (the semantic crisis model is loaded on a
    background thread: ~90 MB that would otherwise land inside the first scenario's RSS and
    CPU figures). Several answers in a row, since with workers each answers for itself."""
    http = Http1Pool("127.0.0.1", port, size=1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    calm = 0
    try:
        while calm < 6 and loop.time() < deadline:
            reply = await http.json("GET", "/readyz", None, expect=(200, 503))
            calm = calm + 1 if reply.get("checks", {}).get("crisis_model") != "loading" else 0
            await asyncio.sleep(0.25)
    finally:
        await http.close()
