"""What the bench ran on: CPU, memory, kernel, runtimes and library versions, and how busy the
box already was (the generator and the server share it, and so may other work)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

NODE_MODULES = Path(__file__).resolve().parent / "peers" / "node" / "node_modules"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _node_version() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip() or None


def _npm_version(package: str) -> str | None:
    try:
        return str(json.loads((NODE_MODULES / package / "package.json").read_text())["version"])
    except (OSError, KeyError, ValueError):
        return None


def _py_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


SPEED_LOOP = 2_000_000


def python_loop_ms(rounds: int = 3) -> float:
    """Milliseconds for a fixed pure-Python loop (``SPEED_LOOP`` additions), best of
    ``rounds``: how fast this box runs Python right now. The same command has measured 3-4×
    apart on boxes of the same name, so runs compare only alongside this figure."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(SPEED_LOOP):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def describe() -> dict[str, Any]:
    import psutil  # the bench's extra; the loop above needs nothing beyond Python

    mem = psutil.virtual_memory()
    return {
        "python_loop_ms": python_loop_ms(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem.total / 2**30, 1),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "node": _node_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            "uvicorn": _py_version("uvicorn"),
            "websockets": _py_version("websockets"),
            "uvloop": _py_version("uvloop"),
            "picows": _py_version("picows"),
            "python-socketio": _py_version("python-socketio"),
            "haven": _py_version("haven"),
            "socket.io (npm)": _npm_version("socket.io"),
            "ws (npm)": _npm_version("ws"),
        },
    }
