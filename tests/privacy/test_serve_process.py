"""`haven serve` as operators run it: its stdout and stderr carry no canary and no address.

The in-process server of the other tests attaches Haven's log handler itself; this one runs
the real command in a child process, so the production logging set-up is what is checked:
``logging.config.dictConfig(log_config(...))`` applied by uvicorn, uvicorn's own loggers, the
access log replacement, and anything printed. The server listens on 127.0.0.1 (its own address
is printed on purpose in the start-up banner); people connect from 127.0.0.42 and 127.0.0.43.
They join the demo meeting with canary pseudonyms, post canary messages (a held one, a PII
warning, a crisis), report, request pages with canaries in the path and query string, and
fail a login with a canary password. Then the process is stopped (SIGTERM) and everything it
wrote, and its data directory, is scanned.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.privacy.canaries import Scanner, read_tree, token
from tests.privacy.meeting_script import ADDRESSES, OTHER_ADDRESS, SERVER_ADDRESS
from tests.support.rooms import Member

HAVEN = Path(sys.executable).with_name("haven")
STARTUP_S = 30.0


class Process:
    """The child's output, line by line, with a wait for a line that matches."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._changed = asyncio.Event()
        self._readers = [
            asyncio.create_task(self._read(name, stream))
            for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))
        ]

    async def _read(self, name: str, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        async for raw in stream:
            self.lines[name].append(raw.decode(errors="replace"))
            self._changed.set()

    async def line(self, stream: str, pattern: str) -> re.Match[str]:
        async with asyncio.timeout(STARTUP_S):
            while True:
                for line in self.lines[stream]:
                    if found := re.search(pattern, line):
                        return found
                if self.proc.returncode is not None:
                    raise RuntimeError("haven serve exited:\n" + "".join(self.lines["stderr"]))
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), STARTUP_S)
        await asyncio.gather(*self._readers)
        return code


async def connect_from(address: str, port: int) -> Member:
    sock = socket.socket()
    sock.bind((address, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return Member(await websockets.connect(f"ws://127.0.0.1:{port}/ws", sock=sock), None)


async def join(
    http: httpx.AsyncClient, port: int, meeting: str, address: str, **body: Any
) -> Member:
    headers = body.pop("headers", {})
    response = await http.post(f"/api/meetings/{meeting}/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    member = await connect_from(address, port)
    await member.send({"t": "hello", "v": 1, "ticket": response.json()["ticket"]})
    member.welcome = await member.event("welcome")
    return member


async def test_haven_serve_writes_no_canary_to_stdout_stderr_or_disk(tmp_path: Path) -> None:
    s = {
        "pseudonym:ann": f"Zoë {token()}",
        "pseudonym:bob": token(),
        "message:held": f"{token()} first time here",
        "message:pii": f"{token()} call me at 555-123-4567",
        "message:crisis": f"{token()} I want to die tonight",
        "report:reason": f"{token()} was rude",
        "path": token(),
        "query": token(),
        "password:wrong": token(),
    }
    data, tmp = tmp_path / "data", tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env |= {"HAVEN_DATA_DIR": str(data), "HAVEN_HOST": "127.0.0.1", "HAVEN_PORT": "0"}
    env |= {"TMPDIR": str(tmp)}
    proc = Process(
        await asyncio.create_subprocess_exec(
            str(HAVEN), "serve", "--demo", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    )  # fmt: skip
    try:
        port = int((await proc.line("stderr", r"Uvicorn running on http://\[ip\]:(\d+)"))[1])
        meeting = (await proc.line("stdout", r"/m/([\w-]+)"))[1]
        password = (await proc.line("stdout", r"password: (\S+)"))[1]
        ann_http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            transport=httpx.AsyncHTTPTransport(local_address=SERVER_ADDRESS),
        )
        bob_http, host_http = (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                transport=httpx.AsyncHTTPTransport(local_address=OTHER_ADDRESS),
            )
            for _ in range(2)
        )
        async with ann_http, bob_http, host_http:
            refused = await host_http.post(
                "/api/auth/login", json={"username": "host", "password": s["password:wrong"]}
            )
            assert refused.status_code == 401
            login = await host_http.post(
                "/api/auth/login", json={"username": "host", "password": password}
            )
            assert login.status_code == 200, login.text
            host = await join(host_http, port, meeting, OTHER_ADDRESS)
            ann = await join(ann_http, port, meeting, SERVER_ADDRESS, name=s["pseudonym:ann"])
            bob = await join(bob_http, port, meeting, OTHER_ADDRESS, name=s["pseudonym:bob"])
            await bob.say(s["message:held"])
            held = await host.event("held", m=bob.me)
            await host.send({"t": "review", "h": held["h"], "ok": True})
            await ann.event("msg", m=bob.me)
            await host.send({"t": "trust", "m": ann.me})  # past the newcomer hold
            await host.event("trust", m=ann.me)
            cid = await ann.say(s["message:pii"])
            await ann.event("warn", cid=cid)
            cid = await ann.say(s["message:crisis"])
            crisis = await bob.event("msg", cid=cid)
            await bob.send(
                {"t": "report", "m": ann.me, "to": crisis["s"], "why": s["report:reason"]}
            )
            await host.event("report", m=ann.me)
            page = await ann_http.get(f"/m/{s['path']}", params={"ticket": s["query"]})
            assert page.status_code in (200, 404)
            for member in (host, ann, bob):
                await member.close()
    finally:
        code = await proc.stop()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM), "".join(proc.lines["stderr"])
    assert "Application shutdown complete." in "".join(proc.lines["stderr"])

    out, err = "".join(proc.lines["stdout"]), "".join(proc.lines["stderr"])
    scanner = Scanner.of(s, ADDRESSES)
    hits = [
        *scanner.scan_text("stdout", out),
        *scanner.scan_text("stderr", err),
        *scanner.scan_files({f"data dir: {n}": d for n, d in read_tree(data).items()}),
    ]
    assert not hits, "\n".join(map(str, hits))
    # stderr is the production log: JSON lines, the access log with templates only.
    entries = [json.loads(line) for line in proc.lines["stderr"]]
    access = [e for e in entries if e["logger"] == "app.access"]
    assert {"/api/meetings/{meeting_id}/tickets", "/api/auth/login", "/m/{meeting_id}"} <= {
        e["route"] for e in access
    }
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    assert sorted(read_tree(data)) == ["haven.db", "secret.key"]
    assert list(tmp.iterdir()) == []
