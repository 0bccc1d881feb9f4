"""Target adapters: how a generated member joins a room and says something on each server.

Every target has the same scenario semantics: a member joins one room by name, and a text it
says is delivered to every member of that room, the sender included. An adapter only knows the
wire protocol; the generator (bench/loadgen.py) owns timing and accounting, and finds the
reference token of bench/payload.py in any delivered frame without decoding it.

Kinds:
- `haven`: Haven's room protocol v1 (ticket over REST, `hello` → `welcome`, `say` → `msg`).
- `socketio-py`, `socketio-node`: Engine.IO v4 / Socket.IO v5 over a WebSocket, spoken directly
  (a Python socket.io client would cost the generator ten times more per message).
- `uvicorn-bare`, `ws-node`: the plain peers, `{"t":"join","room":R}` → `{"t":"joined"}`, then
  every text frame is broadcast verbatim.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bench.http1 import Http1Pool


_DEBUG = bool(os.environ.get("BENCH_DEBUG_FRAMES"))  # print every non-message frame to stderr


class Conn(Protocol):
    """What an adapter may do with a member's connection (implemented by loadgen.Member)."""

    index: int
    room: int
    is_host: bool
    state: dict[str, Any]

    def send_text(self, data: bytes) -> None: ...


@dataclass(frozen=True)
class TargetSpec:
    """Where and what to drive; travels as JSON from the runner to generator processes."""

    kind: str
    host: str
    port: int
    rooms: tuple[str, ...]
    # haven: {"bearer": facilitator session token, "start": bool, "name_prefix": str}
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "rooms": list(self.rooms),
            "options": self.options,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetSpec:
        return cls(data["kind"], data["host"], data["port"], tuple(data["rooms"]), data["options"])


class Adapter:
    """Base adapter; subclasses override the protocol steps."""

    path = "/"

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.errors: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"ws://{self.spec.host}:{self.spec.port}{self.path}"

    @property
    def headers(self) -> dict[str, str]:
        # A browser sends Origin; servers that check it (Haven) expect it to match Host.
        return {"Origin": f"http://{self.spec.host}:{self.spec.port}"}

    async def prepare(self, conn: Conn, http: Http1Pool | None) -> None:
        """Anything to do before the WebSocket opens (Haven: fetch a ticket)."""

    def on_open(self, conn: Conn) -> None:
        """The WebSocket is open: send the first frame(s)."""

    def on_join_frame(self, conn: Conn, data: bytes) -> bool:
        """A frame before the member has joined; True when it completes the join."""
        raise NotImplementedError

    def on_other_frame(self, conn: Conn, data: bytes) -> None:
        """A frame after the join that carries no bench token (events, pings, errors)."""

    def say(self, uid_letters: str, text: str) -> bytes:
        raise NotImplementedError

    def leave(self) -> bytes | None:
        """Frame to send before closing, or None."""
        return None

    def count_error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


class PlainAdapter(Adapter):
    """uvicorn-bare and ws-node."""

    def on_open(self, conn: Conn) -> None:
        conn.send_text(json.dumps({"t": "join", "room": self.spec.rooms[conn.room]}).encode())

    def on_join_frame(self, conn: Conn, data: bytes) -> bool:
        return data == b'{"t":"joined"}'

    def say(self, uid_letters: str, text: str) -> bytes:
        return b'{"t":"say","x":"' + text.encode() + b'"}'


class SocketIOAdapter(Adapter):
    """Engine.IO v4 over WebSocket only, default namespace, Socket.IO v5 packets."""

    path = "/socket.io/?EIO=4&transport=websocket"

    def on_join_frame(self, conn: Conn, data: bytes) -> bool:
        if data[:1] == b"0":  # Engine.IO open: connect to the default namespace
            conn.send_text(b"40")
        elif data[:2] == b"40":  # namespace connected
            room = json.dumps(["join", self.spec.rooms[conn.room]]).encode()
            conn.send_text(b"42" + room)
        elif data == b"2":
            conn.send_text(b"3")
        elif data == b'42["joined"]':
            return True
        elif data[:2] == b"44":
            self.count_error("connect_error")
        return False

    def on_other_frame(self, conn: Conn, data: bytes) -> None:
        if data == b"2":  # Engine.IO ping: a client that does not answer is dropped
            conn.send_text(b"3")
        elif data[:1] == b"1":
            self.count_error("engineio_close")

    def say(self, uid_letters: str, text: str) -> bytes:
        return b'42["say","' + text.encode() + b'"]'


def member_name(prefix: str, index: int) -> str:
    """A pseudonym per generated member that Haven will not take for a look-alike of another.

    Haven refuses a name whose skeleton (look-alike letters and digits folded, repeated
    characters collapsed) equals another member's: "m-1" and "m-11" are the same name to it.
    An ``x`` between digits keeps every index's skeleton distinct.
    """
    return prefix + "x".join(str(index))


class HavenAdapter(Adapter):
    """Haven room protocol v1 (docs/protocol.md)."""

    path = "/ws"

    async def prepare(self, conn: Conn, http: Http1Pool | None) -> None:
        assert http is not None
        opts = self.spec.options
        meeting = self.spec.rooms[conn.room]
        headers = {}
        if conn.is_host and opts.get("bearer"):
            headers["Authorization"] = f"Bearer {opts['bearer']}"
        name = member_name(opts.get("name_prefix", "m"), conn.index)
        reply = await http.json(
            "POST", f"/api/meetings/{meeting}/tickets", {"name": name}, headers, expect=(201, 200)
        )
        conn.state["ticket"] = reply["ticket"]

    def on_open(self, conn: Conn) -> None:
        conn.send_text(
            json.dumps({"t": "hello", "v": 1, "ticket": conn.state.pop("ticket")}).encode()
        )

    def on_join_frame(self, conn: Conn, data: bytes) -> bool:
        msg = json.loads(data)
        kind = msg.get("t")
        if kind == "welcome":
            conn.state["me"] = msg.get("me")
            conn.state["role"] = msg.get("role")
            if conn.is_host and self.spec.options.get("start", True):
                conn.send_text(b'{"t":"start"}')
            return True
        if kind == "error":
            self.count_error(str(msg.get("code")))
        return False

    def on_other_frame(self, conn: Conn, data: bytes) -> None:
        if _DEBUG:
            sys.stderr.write(f"[{conn.index}] {data[:300]!r}\n")
        # Sequenced events (join, phase, ...) need nothing; direct replies mean a message of
        # ours was refused, which the accounting reports by code.
        if b'"t":"error"' in data or b'"t":"warn"' in data or b'"t":"dup"' in data:
            msg = json.loads(data)
            kind = msg.get("t")
            self.count_error(f"{kind}:{msg.get('code', '')}")
        elif b'"t":"held"' in data or b'"t":"notice"' in data or b'"t":"care"' in data:
            msg = json.loads(data)
            self.count_error(f"{msg.get('t')}:{msg.get('code', msg.get('why', ''))}")

    def say(self, uid_letters: str, text: str) -> bytes:
        return b'{"t":"say","cid":"' + uid_letters.encode() + b'","x":"' + text.encode() + b'"}'

    def leave(self) -> bytes | None:
        return b'{"t":"leave"}'


ADAPTERS: dict[str, type[Adapter]] = {
    "haven": HavenAdapter,
    "socketio-py": SocketIOAdapter,
    "socketio-node": SocketIOAdapter,
    "uvicorn-bare": PlainAdapter,
    "ws-node": PlainAdapter,
}


def make_adapter(spec: TargetSpec) -> Adapter:
    return ADAPTERS[spec.kind](spec)
