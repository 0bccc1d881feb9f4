"""Start and stop the servers under test (Haven, the peers, a throwaway redis-server).

Each server runs as its own process on a free loopback port, with its output in a log file
under bench/results/logs/, and is stopped (SIGTERM, then SIGKILL) when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "peers" / "node"
LOG_DIR = ROOT / "bench" / "results" / "logs"

KEEPALIVE_S = 600
"""Keepalive ping interval of every server that sends pings (Haven, both socket.io servers,
uvicorn's WebSocket layer): in the interleaved step-up a server waiting for its turn must not
ping its members in another server's step (docs/benchmarks.md). The Node socket.io peer has
the same figure in milliseconds."""

UVICORN_FLAGS = [
    "--host", "127.0.0.1",
    "--loop", "uvloop",
    "--http", "httptools",
    "--ws", "websockets-sansio",
    "--ws-per-message-deflate", "False",
    "--ws-max-size", "16384",
    "--log-level", "warning",
    "--no-access-log",
    "--backlog", "4096",
    "--ws-ping-interval", str(KEEPALIVE_S),
]  # fmt: skip


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raise_nofile() -> None:
    # Runs in the child before exec: 10,000 idle members need more than 1,024 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll until the port accepts a connection; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout} s")


def ensure_node_modules() -> None:
    if (NODE_DIR / "node_modules" / "socket.io").is_dir() and (
        NODE_DIR / "node_modules" / "ws"
    ).is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the Node peers (apt-get install npm)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True
    )


def command_for(kind: str, port: int, workers: int = 1) -> list[str]:
    """Command line that serves `kind` on 127.0.0.1:port."""
    py = sys.executable
    if kind == "ws-node":
        return ["node", str(NODE_DIR / "ws_server.js"), str(port)]
    if kind == "socketio-node":
        return ["node", str(NODE_DIR / "socketio_server.js"), str(port)]
    if kind == "uvicorn-bare":
        return [
            py,
            "-m",
            "uvicorn",
            "bench.peers.uvicorn_bare:app",
            "--port",
            str(port),
            *UVICORN_FLAGS,
        ]
    if kind == "socketio-py":
        return [
            py,
            "-m",
            "uvicorn",
            "bench.peers.socketio_py:app",
            "--port",
            str(port),
            *UVICORN_FLAGS,
        ]
    if kind == "haven":
        haven = Path(sys.executable).with_name("haven")
        cmd = [str(haven) if haven.exists() else "haven", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(port)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        return cmd
    raise ValueError(f"unknown target kind {kind!r}")


@contextlib.contextmanager
def serve(
    kind: str,
    *,
    label: str | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    command: list[str] | None = None,
) -> Iterator[Server]:
    """Run one server for the duration of the block."""
    port = free_port()
    cmd = command or command_for(kind, port, workers)
    if command is not None:
        cmd = [part.replace("{port}", str(port)) for part in cmd]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{label or kind}.log"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_nofile,
            start_new_session=True,
        )
        try:
            wait_port(port, proc)
            yield Server(label or kind, port, proc.pid)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this server's processes
        proc.wait(5)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server without persistence; yields its redis:// URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server not found (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="haven-bench-redis-") as tmp:
        cmd = [exe, "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", tmp, "--protected-mode", "no"]
        with serve("redis", command=cmd) as server:
            yield f"redis://127.0.0.1:{server.port}/0"
