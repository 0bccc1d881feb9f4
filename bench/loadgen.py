"""Open-loop WebSocket load generator: R rooms × M members, timestamped messages at a fixed rate.

Design (why it does not become the bottleneck):
- uvloop + picows: frames are parsed in C and handed to a plain callback; no task, future or
  await per delivered frame. A delivery costs the generator a `bytes.find`, a few slices and a
  set insert (about 1-2 µs of Python).
- Batched reads: on this kind of VM one socket wake-up (epoll + recv + loop dispatch) costs the
  receiver about 10-15 µs, as much as a fast server spends sending the frame. So only a few
  *probe* members per room (max(2, M/10)) read every frame as it arrives and time it; every
  other member sets SO_RCVLOWAT (8 KiB) so the kernel wakes it once per ~40 frames. Those
  members still read, parse and account every delivery (loss, duplicates, cross-room leaks,
  delivered rate); they just do not time it. The server's work is unchanged: it writes the same
  frames to the same sockets. `batch_reads=0` makes every member a probe, for cross-checks.
- Open loop: messages leave on a schedule fixed in advance (message k at t0 + k/rate) whatever
  the server answers, so a slow server cannot slow the offered load down (no coordinated
  omission). The embedded time is the actual send time, taken just before the write, so the
  generator's timer granularity (uvloop: 1 ms) is not charged to the server; how far sends lag
  their schedule is reported (`gen.send_lag_ms_p99`).
- Optionally split across several processes (`procs`): members are dealt round-robin, each
  process sends for its own senders; latencies are merged exactly afterwards.
- Each process reports its own CPU use over the measured window (`gen.cpu_pct`, % of one core);
  the runner flags a step whose generator process used more than 80% of a core.

Measures, per step: delivered messages/s (deliveries of messages sent in the window, every
member counted), end-to-end latency (send → each receipt at a probe) p50/p90/p99/max, lost and
duplicated deliveries per receiver by unique id, ids leaked from another room, join time
(ticket or connect → first server event), server RSS and CPU (psutil on the server's process
tree: CPU µs per delivery).

Use as a library (`LoadSession`, driven by bench/run.py) or stand-alone against a running
server:
    python -m bench.loadgen --kind ws-node --port 8080 --rooms 50 --members 20 --rate 1000
"""

from __future__ import annotations

import argparse
import array
import asyncio
import gc
import json
import math
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench import stats
from bench.http1 import Http1Pool
from bench.payload import (
    MARK,
    TOKEN_LEN,
    TS_LEN,
    UID_LEN,
    encode_number,
    make_text,
    make_uid,
    uid_letters,
)
from bench.targets import Adapter, TargetSpec, make_adapter

_FROM_LETTERS = bytes.maketrans(b"abcdefghijklmnop", b"0123456789abcdef")
MARK_LEN = len(MARK)
TOKEN_BODY = TOKEN_LEN - MARK_LEN  # id letters + time letters
STALLED_RCVBUF = 4096  # a stalled member's receive buffer: its server-side queue fills fast
STALLED_MSS = 536
monotonic_ns = time.monotonic_ns
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LoadPlan:
    """Who joins where; members are numbered room-major (member i is in room i // M)."""

    target: TargetSpec
    members_per_room: int
    sender_fraction: float = 0.1
    procs: int = 1
    stalled: tuple[int, ...] = ()  # members that stop reading once joined
    idle: bool = False  # soak: nobody sends; no batched reads
    join_concurrency: int = 64
    join_timeout: float = 20.0
    probes_per_room: int = 0  # members per room that time every delivery; 0: max(2, M/10)
    batch_reads: int = 8192  # SO_RCVLOWAT of the other members; 0: every member is a probe
    drain: float = 3.0  # max seconds to collect stragglers after a step
    text_bytes: int = 140  # size of each message text
    join_budget: float = 0.0  # soak: stop starting joins after this many seconds (0: no limit)

    @property
    def rooms(self) -> int:
        return len(self.target.rooms)

    @property
    def members(self) -> int:
        return self.rooms * self.members_per_room

    def senders(self) -> list[int]:
        """Sending members: the first ceil(f·M) of each room (at least one), rooms interleaved
        so that consecutive messages go to different rooms."""
        m = self.members_per_room
        per_room = min(m, max(1, math.ceil(self.sender_fraction * m)))
        return [r * m + k for k in range(per_room) for r in range(self.rooms)]

    def is_probe(self, index: int) -> bool:
        """Probes are the last members of each room (senders are the first)."""
        if self.batch_reads <= 0:
            return True
        m = self.members_per_room
        p = self.probes_per_room or max(2, math.ceil(m / 10))
        return index % m >= m - p

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "target"}
        data["target"] = self.target.to_json()
        data["stalled"] = list(self.stalled)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadPlan:
        data = dict(data)
        data["target"] = TargetSpec.from_json(data["target"])
        data["stalled"] = tuple(data["stalled"])
        return cls(**data)


# --------------------------------------------------------------------------- worker side


class Member(WSListener):
    """One generated member; the hot path is `on_ws_frame` after the join."""

    def __init__(self, gen: Worker, index: int, *, is_host: bool, probe: bool) -> None:
        super().__init__()
        self.gen = gen
        self.adapter = gen.adapter
        self.index = index
        self.room = index // gen.m
        self.is_host = is_host
        self.probe = probe
        self.state: dict[str, Any] = {}
        self.transport: WSTransport | None = None
        self.joined = False
        self.join_waiter: asyncio.Future[None] = gen.loop.create_future()
        self.seen: set[bytes] = set()  # id letters of every message received this step
        self.received = 0
        self.in_window = 0  # deliveries of messages sent inside the measured window
        self.counter = 0
        self.closed_code: int | None = None
        self.disconnected = False

    def send_text(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, data)

    def set_rcvlowat(self, nbytes: int) -> None:
        if self.transport is None or self.disconnected:
            return
        sock = self.transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            # Linux re-checks readiness when the mark changes, so lowering it flushes.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, max(1, nbytes))

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.adapter.on_open(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        data = frame.get_payload_as_bytes()
        i = data.find(MARK)
        if i < 0 or not self.joined:
            self._other_frame(frame, data)
            return
        # Hot path: byte slices only. The token's letters sort like the numbers they encode, so
        # the window test compares bytes; duplicates are found on the raw id letters.
        gen = self.gen
        seen = self.seen
        lo, hi = gen.win_lo, gen.win_hi
        if self.probe:
            now = monotonic_ns() // 1000
            lat, rcv = gen.lat, gen.rcv
            while i >= 0:  # a server may batch several events in one frame
                j = i + MARK_LEN
                uid = data[j : j + UID_LEN]
                sent = data[j + UID_LEN : j + TOKEN_BODY]
                self.received += 1
                if uid not in seen:
                    seen.add(uid)
                if lo <= sent < hi:
                    self.in_window += 1
                lat.append(now - int(sent.translate(_FROM_LETTERS), 16))
                rcv.append(now)
                i = data.find(MARK, j + TOKEN_BODY)
        else:
            while i >= 0:
                j = i + MARK_LEN
                uid = data[j : j + UID_LEN]
                self.received += 1
                if uid not in seen:
                    seen.add(uid)
                if lo <= data[j + UID_LEN : j + TOKEN_BODY] < hi:
                    self.in_window += 1
                i = data.find(MARK, j + TOKEN_BODY)

    def _other_frame(self, frame: WSFrame, data: bytes) -> None:
        kind = frame.msg_type
        if kind is not WSMsgType.TEXT:
            if kind is WSMsgType.CLOSE:
                # From the payload: picows' enum has no application codes such as 4008.
                self.closed_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
            return
        if self.joined:
            self.adapter.on_other_frame(self, data)
        elif self.adapter.on_join_frame(self, data):
            self.joined = True
            if not self.join_waiter.done():
                self.join_waiter.set_result(None)

    def foreign_ids(self) -> int:
        """Ids received from another room's sender: a cross-room leak (counted after a step)."""
        m = self.gen.m
        return sum(
            1
            for uid in self.seen
            if (int(uid.translate(_FROM_LETTERS), 16) >> 32) // m != self.room
        )

    def reset(self) -> None:
        self.seen = set()
        self.received = 0
        self.in_window = 0

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.disconnected = True
        if not self.join_waiter.done():
            self.join_waiter.set_exception(ConnectionError(f"closed {self.closed_code}"))


class Worker:
    """One generator process: joins its members, sends for its senders, counts deliveries."""

    def __init__(self, plan: LoadPlan, shard: int) -> None:
        self.plan = plan
        self.shard = shard
        self.loop = asyncio.get_running_loop()
        self.adapter: Adapter = make_adapter(plan.target)
        self.m = plan.members_per_room
        self.lat = array.array("q")  # probes: latency µs of each delivery
        self.rcv = array.array("q")  # probes: receipt time µs of each delivery
        # Measured window as token letters (send time), set when a step starts.
        self.win_lo = b"\xff"
        self.win_hi = b""
        self.members: list[Member] = []
        self.join_us: list[int] = []
        self.join_failures: dict[str, int] = {}
        self.http: Http1Pool | None = None

    async def _small_socket(self, url: Any) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
        # Loopback's 64 KiB MSS lets the server's send buffer autotune to megabytes, which a
        # phone on a real link never gets; the minimum MSS keeps the kernel's share small
        # (~200 KiB) so the server's own buffering policy shows within seconds.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, STALLED_MSS)
        sock.setblocking(False)
        await self.loop.sock_connect(sock, (url.host, url.port))
        return sock

    async def join_all(self) -> None:
        plan = self.plan
        t = plan.target
        if t.kind == "haven":
            self.http = Http1Pool(t.host, t.port, size=min(16, plan.join_concurrency))
        gate = asyncio.Semaphore(plan.join_concurrency)
        hosts_needed = t.kind == "haven"
        stalled = set(plan.stalled)

        give_up_ns = monotonic_ns() + int(plan.join_budget * 1e9) if plan.join_budget else 0

        async def one(index: int) -> None:
            async with gate:
                if give_up_ns and monotonic_ns() > give_up_ns:
                    key = "not attempted: join budget spent"
                    self.join_failures[key] = self.join_failures.get(key, 0) + 1
                    return
                member = Member(
                    self,
                    index,
                    is_host=hosts_needed and index % self.m == 0,
                    probe=plan.is_probe(index),
                )
                started = monotonic_ns()
                try:
                    await self.adapter.prepare(member, self.http)
                    await ws_connect(
                        lambda: member,
                        self.adapter.url,
                        extra_headers=self.adapter.headers,
                        websocket_handshake_timeout=plan.join_timeout,
                        max_frame_size=1 << 20,
                        socket_factory=self._small_socket if index in stalled else None,
                    )
                    await asyncio.wait_for(member.join_waiter, plan.join_timeout)
                except Exception as exc:  # noqa: BLE001
                    # A bench counts every kind of join failure and carries on.
                    name = f"{type(exc).__name__}: {str(exc)[:120]}"
                    self.join_failures[name] = self.join_failures.get(name, 0) + 1
                    if member.transport is not None:
                        member.transport.disconnect()
                    return
                self.join_us.append((monotonic_ns() - started) // 1000)
                self.members.append(member)

        # Hosts first: a Haven room starts when its host joins, before members say anything.
        mine = list(range(self.shard, plan.members, plan.procs))
        hosts = [i for i in mine if i % self.m == 0] if hosts_needed else []
        await asyncio.gather(*(one(i) for i in hosts))
        await asyncio.gather(*(one(i) for i in mine if not (hosts_needed and i % self.m == 0)))
        # Reads are batched (SO_RCVLOWAT) during steps only (``batched``): between steps a
        # member must see the server's small keepalive pings at once and answer them, or the
        # server closes it (WebSocket pings and Engine.IO's "2" are a few bytes).
        for member in self.members:
            if member.index in stalled and member.transport is not None:
                member.transport.underlying_transport.pause_reading()

    async def send_loop(
        self, t0_ns: int, rate: float, duration: float, warmup: float
    ) -> dict[str, Any]:
        plan = self.plan
        by_index = {m.index: m for m in self.members}
        all_senders = plan.senders()
        n_senders = len(all_senders)
        # Message k (global) is sent by all_senders[k % S]; this shard sends those it holds.
        member_at = {
            pos: by_index.get(s)
            for pos, s in enumerate(all_senders)
            if s % plan.procs == self.shard
        }
        interval = 1e9 / rate
        end_ns = t0_ns + int(duration * 1e9)
        total = int(duration * rate)
        self.win_lo = encode_number((t0_ns + int(warmup * 1e9)) // 1000, TS_LEN).encode()
        self.win_hi = encode_number(end_ns // 1000, TS_LEN).encode()
        sent_per_room: dict[int, int] = {}
        lags = array.array("q")
        send_fail = 0
        adapter = self.adapter
        size = plan.text_bytes
        k = 0  # next global message number
        while True:
            now = monotonic_ns()
            if now < t0_ns:
                await asyncio.sleep((t0_ns - now) / 1e9)
                continue
            due = min(total, int((now - t0_ns) / interval) + 1)
            while k < due:
                pos = k % n_senders
                if pos in member_at:
                    member = member_at[pos]
                    if member is None or member.disconnected or member.transport is None:
                        send_fail += 1
                    else:
                        uid = make_uid(member.index, member.counter)
                        member.counter += 1
                        sent_ns = monotonic_ns()
                        letters = uid_letters(uid)
                        text = make_text(uid, sent_ns // 1000, letters, size)
                        frame = adapter.say(letters, text)
                        member.transport.send(WSMsgType.TEXT, frame)
                        sent_per_room[member.room] = sent_per_room.get(member.room, 0) + 1
                        lags.append((sent_ns - t0_ns - int(k * interval)) // 1000)
                k += 1
            if k >= total or now >= end_ns:
                break
            # uvloop timers have millisecond resolution: a shorter sleep would spin.
            next_ns = t0_ns + int(k * interval)
            await asyncio.sleep(max(0.001, (next_ns - monotonic_ns()) / 1e9))
        return {
            "sent_per_room": {str(r): n for r, n in sent_per_room.items()},
            "sent": sum(sent_per_room.values()),
            "send_fail": send_fail,
            "send_lag_us": stats.summarize(lags).as_dict(),
        }

    async def drain(self) -> float:
        """Collect stragglers; returns the seconds spent (bounded by `plan.drain`).

        First until the probes go quiet for 0.5 s, then the batched readers' marks drop to
        one byte (the kernel hands over what it holds) and until every member is quiet.
        """
        start = monotonic_ns()
        limit = start + int(self.plan.drain * 1e9)

        async def quiet(count: Any, for_ns: int) -> None:
            last, changed = count(), monotonic_ns()
            while True:
                await asyncio.sleep(0.05)
                now = monotonic_ns()
                if count() != last:
                    last, changed = count(), now
                elif now - changed > for_ns or now > limit:
                    return

        await quiet(lambda: len(self.lat), 500_000_000)
        self.batched(False)
        await quiet(lambda: sum(m.received for m in self.members), 300_000_000)
        return (monotonic_ns() - start) / 1e9

    def batched(self, on: bool) -> None:
        """Batched reads for the members that are neither probes nor stalled, during a step;
        off between steps (see ``join_all``)."""
        if self.plan.idle:
            return
        stalled = set(self.plan.stalled)
        for member in self.members:
            if not member.probe and member.index not in stalled:
                member.set_rcvlowat(self.plan.batch_reads if on else 1)

    async def wake_stalled(self) -> None:
        """After a step, let stalled members read again to see what the server did to them:
        kept their backlog (received later), or closed them (close code)."""
        stalled = [m for m in self.members if m.index in self.plan.stalled]
        for member in stalled:
            if member.transport is not None and not member.disconnected:
                member.transport.underlying_transport.resume_reading()
        if stalled:
            await asyncio.sleep(1.0)

    def receivers(self) -> list[dict[str, int]]:
        stalled = set(self.plan.stalled)
        return [
            {
                "room": m.room,
                "unique": len(m.seen),
                "received": m.received,
                "in_window": m.in_window,
                "probe": int(m.probe),
                "foreign": m.foreign_ids(),
                "stalled": int(m.index in stalled),
                "disconnected": int(m.disconnected),
                "close": m.closed_code or 0,
            }
            for m in self.members
        ]

    def reset(self) -> None:
        self.lat = array.array("q")
        self.rcv = array.array("q")
        self.adapter.errors.clear()
        for m in self.members:
            m.reset()

    async def step(self, cmd: dict[str, Any], out_dir: Path, n: int) -> dict[str, Any]:
        me = psutil.Process()
        t0_ns = int(cmd["t0_ns"])
        duration = float(cmd["duration"])
        self.reset()
        self.batched(True)
        cpu0 = me.cpu_times()
        result: dict[str, Any] = await self.send_loop(
            t0_ns, float(cmd["rate"]), duration, float(cmd["warmup"])
        )
        # Window CPU: until the scheduled end of sending (the drain is mostly idle time).
        await asyncio.sleep(max(0.0, (t0_ns + duration * 1e9 - monotonic_ns()) / 1e9))
        cpu1 = me.cpu_times()
        result["gen_cpu_s"] = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        result["drain_s"] = await self.drain()
        await self.wake_stalled()
        result["receivers"] = self.receivers()
        for key, arr in (("lat_file", self.lat), ("rcv_file", self.rcv)):
            path = out_dir / f"{key}-{self.shard}-{n}.bin"
            with path.open("wb") as f:
                arr.tofile(f)
            result[key] = str(path)
        result["errors"] = dict(self.adapter.errors)
        result["rss_mb"] = me.memory_info().rss / 2**20
        return result

    async def close_all(self) -> None:
        leave = self.adapter.leave()
        for m in self.members:
            if m.transport is not None and not m.disconnected:
                if leave is not None:
                    m.transport.send(WSMsgType.TEXT, leave)
                m.transport.send_close()
        await asyncio.sleep(0.2)
        for m in self.members:
            if m.transport is not None and not m.disconnected:
                m.transport.disconnect()
        if self.http is not None:
            await self.http.close()


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def _read_command() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        return {"stop": True}  # the coordinator went away
    return dict(json.loads(line))


async def worker_main(plan: LoadPlan, shard: int, out_dir: Path) -> None:
    """JSON lines on stdin/stdout: → joined; then ← step {t0_ns, rate, duration, warmup} → done,
    ← hold → held (soak), any number of times; ← stop → closed."""
    worker = Worker(plan, shard)
    t_join = monotonic_ns()
    await worker.join_all()
    # A full collection over 10,000 members' objects pauses the loop for milliseconds, which
    # would show up as send lag and latency; the generator makes no reference cycles worth it.
    gc.collect()
    gc.freeze()
    gc.disable()
    _emit(
        {
            "event": "joined",
            "ok": len(worker.members),
            "failed": worker.join_failures,
            "join_us": stats.summarize(worker.join_us).as_dict(),
            "join_s": (monotonic_ns() - t_join) / 1e9,
            "errors": dict(worker.adapter.errors),
        }
    )
    n = 0
    while True:
        cmd = await _read_command()
        if "stop" in cmd:
            break
        if "hold" in cmd:
            _emit(
                {
                    "event": "held",
                    "connected": sum(not m.disconnected for m in worker.members),
                    "rss_mb": psutil.Process().memory_info().rss / 2**20,
                    "errors": dict(worker.adapter.errors),
                }
            )
            continue
        n += 1
        _emit({"event": "done", "shard": shard, **(await worker.step(cmd, out_dir, n))})
    await worker.close_all()
    _emit({"event": "closed"})


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------- coordinator side


@dataclass
class ServerProbe:
    """psutil view of the server's process tree (uvicorn with workers has children)."""

    pid: int
    proc: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.proc = psutil.Process(self.pid)

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_split(self) -> tuple[float, float]:
        """CPU seconds of (the server process itself, its child processes): Haven's one
        child is the semantic crisis screen; with several workers the children are them."""
        own = children = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            if p.pid == self.pid:
                own += t.user + t.system
            else:
                children += t.user + t.system
        return own, children

    def rss_mb(self) -> float:
        total = 0
        for p in self._tree():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / 2**20


def merge_counts(items: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in items:
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


class LoadSession:
    """Generator processes holding one set of joined members, driven step by step.

    async with LoadSession(plan, server_pid) as session:
        session.joined              # join figures
        await session.step(rate=1000, duration=5)
        await session.hold()        # soak: connections held, server RSS
    """

    def __init__(self, plan: LoadPlan, server_pid: int | None = None) -> None:
        self.plan = plan
        self.probe = ServerProbe(server_pid) if server_pid else None
        self.procs: list[asyncio.subprocess.Process] = []
        self.joined: dict[str, Any] = {}
        self.rss_before_mb = 0.0
        self._tmp = tempfile.TemporaryDirectory(prefix="haven-bench-")

    async def __aenter__(self) -> LoadSession:
        self.rss_before_mb = self.probe.rss_mb() if self.probe else 0.0
        out_dir = self._tmp.name
        root = str(ROOT)
        for shard in range(self.plan.procs):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadgen",
                "--worker",
                str(shard),
                "--out",
                out_dir,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=root,
                limit=2**26,
            )
            self.procs.append(proc)
            await self._send(proc, self.plan.to_json())
        try:
            deadline = 60 + self.plan.members * 0.05
            joined = [await self._line(p, deadline) for p in self.procs]
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self.joined = {
            "members": self.plan.members,
            "joined": sum(j["ok"] for j in joined),
            "failures": merge_counts(j["failed"] for j in joined),
            "seconds": max(j["join_s"] for j in joined),
            # Per-process percentiles; the max over processes is the conservative merge.
            "ms": {k: max(j["join_us"][k] for j in joined) / 1000 for k in ("p50", "p99", "max")},
            "errors": merge_counts(j["errors"] for j in joined),
        }
        return self

    async def __aexit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.returncode is None:
                try:
                    await self._send(p, {"stop": True})
                    await self._line(p, 30)
                    await asyncio.wait_for(p.wait(), 10)
                except (TimeoutError, RuntimeError, BrokenPipeError, ConnectionResetError):
                    if p.returncode is None:
                        p.kill()
                        await p.wait()
        self._tmp.cleanup()

    @staticmethod
    async def _send(proc: asyncio.subprocess.Process, obj: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(obj) + "\n").encode())
        await proc.stdin.drain()

    @staticmethod
    async def _line(proc: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
        assert proc.stdout is not None
        raw = await asyncio.wait_for(proc.stdout.readline(), within)
        if not raw:
            raise RuntimeError(f"generator process exited with {await proc.wait()}")
        return dict(json.loads(raw))

    async def hold(self, seconds: float = 2.0) -> dict[str, Any]:
        """Soak: keep every member connected for `seconds`, then measure server RSS."""
        await asyncio.sleep(seconds)
        rss = self.probe.rss_mb() if self.probe else 0.0
        for p in self.procs:
            await self._send(p, {"hold": True})
        held = [await self._line(p, 60) for p in self.procs]
        connected = sum(h["connected"] for h in held)
        return {
            "connected": connected,
            "server_rss_before_mb": self.rss_before_mb,
            "server_rss_mb": rss,
            "rss_per_member_kib": (rss - self.rss_before_mb) * 1024 / max(1, connected),
            "gen_rss_mb": sum(h["rss_mb"] for h in held),
            "errors": merge_counts(h["errors"] for h in held),
        }

    async def step(self, rate: float, duration: float, warmup: float = 1.0) -> dict[str, Any]:
        """Offer `rate` messages/s for `duration` s; figures cover [t0 + warmup, t0 + duration)."""
        plan = self.plan
        t0_ns = monotonic_ns() + 200_000_000
        for p in self.procs:
            await self._send(
                p, {"t0_ns": t0_ns, "rate": rate, "duration": duration, "warmup": warmup}
            )
        await asyncio.sleep(max(0.0, (t0_ns - monotonic_ns()) / 1e9))
        probe = self.probe
        rss_start = probe.rss_mb() if probe else 0.0
        rss_peak = rss_start
        end_ns = t0_ns + int(duration * 1e9)
        warm_ns = t0_ns + int(warmup * 1e9)
        cpu_warm: tuple[tuple[float, float], int] | None = None
        while monotonic_ns() < end_ns:
            await asyncio.sleep(min(0.2, max(0.0, (end_ns - monotonic_ns()) / 1e9)))
            if probe:
                rss_peak = max(rss_peak, probe.rss_mb())
                if cpu_warm is None and monotonic_ns() >= warm_ns:
                    cpu_warm = (probe.cpu_split(), monotonic_ns())
        cpu_end = probe.cpu_split() if probe else (0.0, 0.0)
        cpu_end_ns = monotonic_ns()
        done = [await self._line(p, plan.drain + 120) for p in self.procs]
        result = merge_step(plan, done, rate, duration, warm_ns, end_ns)
        server: dict[str, Any] = {
            "rss_start_mb": rss_start,
            "rss_peak_mb": rss_peak,
            "rss_end_mb": probe.rss_mb() if probe else 0.0,
        }
        if probe and cpu_warm is not None:
            (own0, children0), warm_at = cpu_warm
            children = cpu_end[1] - children0
            cpu = cpu_end[0] - own0 + children
            window_s = (cpu_end_ns - warm_at) / 1e9
            server["cpu_pct"] = 100 * cpu / window_s if window_s > 0 else 0.0
            rate_in = result["delivered_s"]
            per = (1e6 / window_s / rate_in) if rate_in and window_s > 0 else None
            server["cpu_us_per_delivery"] = cpu * per if per else None
            server["cpu_us_per_delivery_children"] = children * per if per else None
        result["server"] = server
        return result


def merge_step(
    plan: LoadPlan,
    done: Sequence[dict[str, Any]],
    rate: float,
    duration: float,
    warm_ns: int,
    end_ns: int,
) -> dict[str, Any]:
    """One step's figures from every generator process."""
    lat = array.array("q")
    rcv = array.array("q")
    for d in done:
        for key, arr in (("lat_file", lat), ("rcv_file", rcv)):
            path = Path(d[key])
            with path.open("rb") as f:
                arr.frombytes(f.read())
            path.unlink()
    sent_per_room: dict[int, int] = {}
    for d in done:
        for r, n in d["sent_per_room"].items():
            sent_per_room[int(r)] = sent_per_room.get(int(r), 0) + n
    # Accounting over members that kept reading; the stalled ones are reported apart.
    readers = stats.ZERO
    stalled = stats.ZERO
    foreign = 0
    closed: dict[str, int] = {}
    delivered_in_window = 0
    probes = 0
    for d in done:
        for rec in d["receivers"]:
            t = stats.tally_counts(
                sent_per_room.get(rec["room"], 0), rec["unique"], rec["received"]
            )
            foreign += rec["foreign"]
            if rec["disconnected"] or rec["close"]:
                key = f"{'stalled' if rec['stalled'] else 'reader'}:{rec['close'] or 'dropped'}"
                closed[key] = closed.get(key, 0) + 1
            if rec["stalled"]:
                stalled = stalled + t
            else:
                readers = readers + t
                delivered_in_window += rec["in_window"]
                probes += rec["probe"]
    warm_us, end_us = warm_ns // 1000, end_ns // 1000
    in_window = [
        latency for latency, at in zip(lat, rcv, strict=True) if warm_us <= at - latency < end_us
    ]
    window_s = (end_us - warm_us) / 1e6
    summary = stats.summarize(in_window)
    return {
        "offered_msgs_s": rate,
        "offered_deliveries_s": rate * plan.members_per_room,
        "duration": duration,
        "sent": sum(d["sent"] for d in done),
        "send_fail": sum(d["send_fail"] for d in done),
        "delivered_s": delivered_in_window / window_s if window_s > 0 else 0.0,
        "latency_ms": {k: v / 1000 for k, v in summary.as_dict().items() if k != "n"},
        "latency_n": summary.n,
        "probes": probes,
        "tally": readers.as_dict(),
        "stalled_tally": stalled.as_dict(),
        "foreign": foreign,
        "closed": closed,
        "errors": merge_counts(d["errors"] for d in done),
        "gen": {
            "cpu_pct": [round(d["gen_cpu_s"] / duration * 100, 1) for d in done],
            "send_lag_ms_p99": max(d["send_lag_us"]["p99"] for d in done) / 1000,
            "rss_mb": [round(d["rss_mb"], 1) for d in done],
            "drain_s": max(d["drain_s"] for d in done),
        },
    }


async def run_once(
    plan: LoadPlan, rate: float, duration: float, warmup: float, server_pid: int | None
) -> dict[str, Any]:
    async with LoadSession(plan, server_pid) as session:
        result = await session.step(rate, duration, warmup)
        result["join"] = session.joined
        return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--kind", choices=["haven", "socketio-py", "socketio-node", "uvicorn-bare", "ws-node"]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--room-names", help="comma-separated room names (Haven meeting ids)")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--senders", type=float, default=0.1, help="fraction of members sending")
    parser.add_argument("--rate", type=float, default=1000, help="messages/s offered in total")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--batch-reads", type=int, default=8192, help="0: every member is a probe")
    parser.add_argument("--server-pid", type=int, help="measure this process tree's CPU and RSS")
    parser.add_argument("--bearer", help="Haven facilitator token for the room hosts")
    args = parser.parse_args(argv)
    raise_nofile()
    if args.worker is not None:
        plan = LoadPlan.from_json(json.loads(sys.stdin.readline()))
        uvloop.run(worker_main(plan, args.worker, args.out))
        return
    if args.kind is None or args.port is None:
        parser.error("--kind and --port are required")
    if args.room_names:
        rooms = tuple(args.room_names.split(","))
    else:
        rooms = tuple(f"room{i}" for i in range(args.rooms))
    options: dict[str, Any] = {"name_prefix": f"g{os.getpid()}-"}
    if args.bearer:
        options["bearer"] = args.bearer
    plan = LoadPlan(
        target=TargetSpec(args.kind, args.host, args.port, rooms, options),
        members_per_room=args.members,
        sender_fraction=args.senders,
        procs=args.procs,
        batch_reads=args.batch_reads,
    )
    result = uvloop.run(run_once(plan, args.rate, args.duration, args.warmup, args.server_pid))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
