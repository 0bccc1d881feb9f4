"""Semantic crisis screen latency: CPU per message, and delivery to care card on a live server.

    .venv/bin/python -m bench.semantic_latency [--rounds 3] [--json]

Three measurements (docs/moderation.md, "Latency"):

1. **CPU per message** of ``SemanticCrisis.judge`` (embedding + comparison + guard) on every
   evaluation message that passes the cheap gate, ``--rounds`` times, and on 2,000-character
   texts (truncated to 128 word pieces). ``time.thread_time_ns`` on the calling thread; the
   encoder runs there (ONNX Runtime with one thread; BLAS limited to one thread for the seed
   comparisons), so this is the whole cost.
2. **Delivery to card** on a real server (uvicorn on 127.0.0.1, real WebSocket clients): a
   member sends crisis messages the rules miss; from the sender's receipt of its own message
   (delivered) to its receipt of the ``care`` frame. Wall time, loopback.
3. **The message path with the screen busy**: one member sends the development set's recovery
   shares back to back (each waits for its own echo) with the screen on and off, three turns
   each, pooled; echo p50/p99. The screen runs in the server's child process, on the same
   two cores, so this shows what it costs the event loop.

The test harness binds its listening socket with protocol 0, so asyncio does not set
TCP_NODELAY on accepted connections, and a server-initiated frame that follows another one
(the card, ~5-10 ms after the message) waits for the client's delayed ACK (~30-40 ms, Nagle).
``haven serve`` lets uvicorn bind (protocol TCP: TCP_NODELAY on). This benchmark binds like
``haven serve`` does; ``--harness-socket`` measures with the harness's socket instead.

Prints numbers only; nothing is asserted. This is a separate module from
``bench/moderation_latency.py`` (the gating pipeline) because it needs the model and a server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.moderation.after_delivery import shared_screen
from app.moderation.context import ScreenContext
from app.moderation.evaluate import CASES, HOLDOUT, load_cases
from app.moderation.pipeline import default_pipeline
from app.moderation.semantic import worth_screening
from tests.support import server as server_support
from tests.support.rooms import Meeting, Member, create_meeting
from tests.support.server import serve

# Written for the benchmark (not in the seeds or the evaluation sets); the rules miss each.
CRISIS = (
    "I've written a letter to each of my kids and tonight I'm finally going to be free",
    "I'm sitting on the edge of the roof",
    "I've put everything in order, it's time for me to go",
    "this is the last thing I'll ever post here, I love you all",
    "I just want everything to go dark and stay dark for good",
    "I've given my cat to my sister, I won't need anyone to look after her after tonight",
    "I've decided this is my final night, nobody needs to worry anymore",
    "I'm on the bridge railing looking at the water",
    "I keep staring at the knife, I'm going to use it on myself tonight",
    "goodbye friends, I'm ending my story tonight",
)


def _tcp_socket(host: str) -> socket.socket:
    """The harness's listening socket, but with protocol TCP (as uvicorn binds for ``haven
    serve``), so that asyncio turns Nagle's algorithm off on accepted connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p90_ms": round(percentile(values, 0.90), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
        "mean_ms": round(statistics.fmean(values), 2),
    }


def cpu_per_message(rounds: int) -> dict[str, Any]:
    started = time.perf_counter()
    screen = shared_screen()
    load_s = time.perf_counter() - started
    texts = [c.text for c in load_cases(CASES) + load_cases(HOLDOUT) if worth_screening(c.text)]
    screen.judge(texts[0])  # warm-up
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            t0 = time.thread_time_ns()
            screen.judge(text)
            samples.append((time.thread_time_ns() - t0) / 1e6)
    long_text = ("I called my sponsor instead of stopping at the bar and we talked. " * 40)[:2000]
    long_samples = []
    for _ in range(20):
        t0 = time.thread_time_ns()
        screen.judge(long_text)
        long_samples.append((time.thread_time_ns() - t0) / 1e6)
    return {
        "load_s": round(load_s, 2),
        "evaluation_set": summary(samples),
        "english_2000_chars": summary(long_samples),
    }


async def _meeting(server: Any, http: httpx.AsyncClient) -> tuple[Meeting, Member]:
    meeting = await create_meeting(server, http, policy={"newcomer_cooldown": 0})
    host = await meeting.host()
    await host.send({"t": "start"})
    await host.event("phase", p="live")
    return meeting, host


async def delivery_to_card(settings: Settings, senders: int = 10) -> dict[str, Any]:
    pipeline = default_pipeline()
    missed = [t for t in CRISIS if not pipeline.screen(t, ScreenContext()).crisis]
    samples: list[float] = []
    missing = 0
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        screen = server.app.state.rooms.semantic
        await asyncio.to_thread(screen.ready.wait, 120)
        meeting, host = await _meeting(server, http)
        # One sender at a time, each sending each text once (the flood rule blocks repeats);
        # a finished sender leaves, so that no idle client stops reading and times out.
        for i in range(senders):
            member = await meeting.join(f"Member{i}")
            for text in missed:
                cid = await member.say(text)
                await member.event("msg", cid=cid)
                delivered = time.perf_counter()
                try:
                    await member.event("care", timeout=5)
                except TimeoutError:
                    missing += 1  # the screen did not take it for a crisis
                    continue
                samples.append((time.perf_counter() - delivered) * 1000)
                await host.event("alert", cid=cid, timeout=5)
            await member.ws.close()
    return {
        "crisis_texts": len(missed),
        "senders": senders,
        "no_card": missing,
        "delivery_to_card": summary(samples),
    }


async def message_path(settings: Settings, n: int) -> list[float]:
    samples: list[float] = []
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        screen = server.app.state.rooms.semantic
        if screen is not None:
            await asyncio.to_thread(screen.ready.wait, 120)
        meeting, _ = await _meeting(server, http)
        member = await meeting.join("Member")
        # Distinct ordinary shares (the flood rule blocks near-duplicates).
        shares = [c.text for c in load_cases(CASES) if c.group == "recovery_share"]
        for text in shares[:n]:
            t0 = time.perf_counter()
            cid = await member.say(text)
            await member.event("msg", cid=cid)
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


async def live(messages: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        base = {"rate_burst": 1000, "rate_per_s": 100.0, "join_rate_per_ip": "1000/minute"}
        result = await delivery_to_card(Settings(data_dir=Path(tmp) / "card", **base))
        # On and off in turns, pooled: other processes' load on the shared cores drifts.
        echo: dict[bool, list[float]] = {True: [], False: []}
        for i, on in enumerate((True, False) * 3):
            settings = Settings(data_dir=Path(tmp) / f"echo{i}", semantic_crisis=on, **base)
            echo[on] += await message_path(settings, messages)
        return {
            **result,
            "echo_semantic_on": summary(echo[True]),
            "echo_semantic_off": summary(echo[False]),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.semantic_latency")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=200, help="at most 210")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--harness-socket", action="store_true", help="keep the test harness's socket (Nagle on)"
    )
    args = parser.parse_args(argv)
    if not args.harness_socket:
        server_support._bound_socket = _tcp_socket  # type: ignore[attr-defined] # bench only
    result = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "socket": "harness (Nagle on)" if args.harness_socket else "TCP_NODELAY (as haven serve)",
        "cpu": cpu_per_message(args.rounds),
        **asyncio.run(live(args.messages)),
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
