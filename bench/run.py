"""`make bench`: Haven side by side with its peers, same generator, same scenarios, one run.

Scenarios c, a, b and d run on one fresh server per target, one target after the other:
  c  idle soak: as many idle members as the box holds, up to 10,000, rooms of 50; RSS/member
  a  many small meetings: 200 rooms × 15 members, 10% senders, 2,000 messages/s offered
  b  one large meeting: 1 room × 500 members, 10% senders, 40 messages/s (20,000 deliveries/s)
  d  one stalled reader (reads nothing, 4 KiB receive buffer) in a busy room of 50 members,
     compared with the same room without it
Then e and f run on another fresh server per target and variant, all of them at once, taking
one step each in turn (``step_ups``), so that every maximum is found in the same minutes:
  e  step-up: 50 rooms × 20 members, 10% senders, offered deliveries/s stepped up until p99
     ≥ 100 ms, loss or delivered < 95% of offered; then two steps bisecting between the best
     pass and the lowest failure
  f  Haven only: the same step-up with moderation off, and with the Redis room log + 2 workers
Plus a generator check on the fastest peer: one load with 1 and 2 generator processes, and with
every member timing its deliveries (no batched reads), to show the figures do not depend on it.

Bounded: `--budget` seconds (default 780) for everything; a scenario that would start after
the budget is skipped and reported as such. `--quick` runs CI-size versions (about 4 minutes).
Writes bench/results/bench-<time>.json (and latest.json) and rewrites docs/benchmarks.md between
<!-- bench:start --> and <!-- bench:end -->, plus docs/benchmarks-latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from bench import haven_setup, machine, report, servers
from bench.loadgen import LoadPlan, LoadSession, raise_nofile
from bench.targets import TargetSpec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PEERS = ("socketio-node", "uvicorn-bare", "socketio-py", "ws-node")
ALL_TARGETS = ("haven", *PEERS)
P99_LIMIT_MS = 100.0
GEN_CPU_LIMIT = 80.0  # % of one core per generator process
SCENARIOS = ("c", "a", "b", "d", "e")
BISECTIONS = 2  # steps of (e) between the best pass and the lowest failure
DRAIN_S = 2.0  # after a failed step of (e), for the server to drain what it queued


@dataclass(frozen=True)
class Profile:
    """Sizes and durations of one bench run."""

    name: str
    procs: int = 2
    soak_members: int = 10_000
    soak_room: int = 50
    soak_join_budget: float = 90.0  # seconds; members not joined by then count as not held
    a_rooms: int = 200
    a_members: int = 15
    a_rate: float = 2000
    b_members: int = 500
    b_rate: float = 40
    e_rooms: int = 50
    e_members: int = 20
    e_steps: tuple[float, ...] = (
        10_000,
        20_000,
        30_000,
        45_000,
        60_000,
        80_000,
        100_000,
        130_000,
        160_000,
        200_000,
        250_000,
        320_000,
        400_000,
        500_000,
    )
    e_fixed: float = 20_000  # CPU per delivery is compared at this delivered rate
    d_members: int = 50
    d_rate: float = 40
    d_text_bytes: int = 1000  # fills a stalled member's buffers (~200 KiB with MSS 536) in ~5 s
    d_duration: float = 8.0
    duration: float = 4.0
    warmup: float = 1.0
    step_duration: float = 3.0
    check_deliveries: float = 30_000
    sender_fraction: float = 0.1


FULL = Profile("full")
QUICK = Profile(
    "quick",
    soak_members=600,
    soak_room=30,
    a_rooms=20,
    a_members=15,
    a_rate=200,
    b_members=100,
    b_rate=20,
    e_rooms=10,
    e_members=20,
    e_steps=(2_000, 5_000, 10_000),
    e_fixed=5_000,
    d_members=30,
    d_rate=20,
    d_duration=4.0,
    duration=2.5,
    warmup=0.5,
    step_duration=2.0,
    check_deliveries=5_000,
)


@dataclass
class Budget:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    skipped: list[str] = field(default_factory=list)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def allows(self, what: str, needs: float) -> bool:
        if self.left() >= needs:
            return True
        self.skipped.append(what)
        log(f"  skipped {what}: {self.left():.0f} s left of the budget, needs ~{needs:.0f} s")
        return False


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    """A running server of one kind, and how to make rooms on it."""

    kind: str
    label: str
    port: int
    pid: int
    token: str | None = None
    counter: int = 0
    workers: int = 1

    async def rooms(self, count: int, capacity: int, tag: str) -> tuple[str, ...]:
        self.counter += 1
        if self.kind != "haven":
            return tuple(f"{tag}{self.counter}-{i}" for i in range(count))
        assert self.token is not None
        return await haven_setup.create_meetings(
            self.port, self.token, count, max(2, capacity), f"{tag}{self.counter}"
        )

    def spec(self, rooms: tuple[str, ...]) -> TargetSpec:
        options: dict[str, Any] = {"name_prefix": f"m{self.counter}-"}
        if self.token:
            options["bearer"] = self.token
        return TargetSpec(self.kind, "127.0.0.1", self.port, rooms, options)

    async def screen_totals(self) -> tuple[float, float] | None:
        """Haven's own count of its event loop's screening (seconds, messages), or None: a
        peer, or several workers (each answers /metrics for itself)."""
        if self.kind != "haven" or self.workers != 1:
            return None
        return await haven_setup.screen_totals(self.port)

    async def step(self, session: LoadSession, rate: float, p: Profile) -> dict[str, Any]:
        """One measured step of ``session`` (``rate`` messages/s in all), with Haven's time
        spent screening over it when it reports one (``screen_us_per_msg``: the mean per
        message; ``screen_pct``: the share of one core while messages were sent)."""
        before = await self.screen_totals()
        step = await session.step(rate, p.step_duration, p.warmup)
        after = await self.screen_totals() if before is not None else None
        if before is not None and after is not None and after[1] > before[1]:
            seconds, messages = after[0] - before[0], after[1] - before[1]
            step["server"]["screen_us_per_msg"] = 1e6 * seconds / messages
            # Over the time messages were sent (the step's duration, its warm-up included),
            # not the drain after it.
            step["server"]["screen_pct"] = 100 * seconds / p.step_duration
        return step


@contextlib.asynccontextmanager
async def running(
    kind: str, label: str, haven_env: dict[str, str] | None = None, workers: int = 1
) -> AsyncIterator[Target]:
    if kind != "haven":
        with servers.serve(kind, label=label) as server:
            yield Target(kind, label, server.port, server.pid)
        return
    with tempfile.TemporaryDirectory(prefix="haven-bench-data-") as tmp:
        env = haven_setup.env_for(Path(tmp), haven_env)
        haven_setup.prepare(Path(tmp), env)
        with servers.serve("haven", label=label, env=env, workers=workers) as server:
            token = await haven_setup.login(server.port)
            await haven_setup.settled(server.port)
            yield Target(kind, label, server.port, server.pid, token, workers=workers)


# --------------------------------------------------------------------------- scenarios


def summary_of(step: dict[str, Any]) -> dict[str, Any]:
    """The figures the report shows, from one step's full result (latency None: no sample)."""
    timed = step["latency_n"] > 0
    return {
        "offered_deliveries_s": step["offered_deliveries_s"],
        "delivered_s": round(step["delivered_s"], 1),
        "p50_ms": step["latency_ms"]["p50"] if timed else None,
        "p99_ms": step["latency_ms"]["p99"] if timed else None,
        "max_ms": step["latency_ms"]["max"] if timed else None,
        "lost": step["tally"]["lost"],
        "dups": step["tally"]["duplicates"],
        "foreign": step["foreign"],
        "errors": step["errors"],
        "closed": step["closed"],
        "server_cpu_pct": step["server"].get("cpu_pct"),
        "cpu_us_per_delivery": step["server"].get("cpu_us_per_delivery"),
        "cpu_us_per_delivery_children": step["server"].get("cpu_us_per_delivery_children"),
        # Haven only: its event loop's time screening, by its own count (/metrics).
        "screen_us_per_msg": step["server"].get("screen_us_per_msg"),
        "screen_pct": step["server"].get("screen_pct"),
        "server_rss_peak_mb": step["server"]["rss_peak_mb"],
        "gen_cpu_pct": step["gen"]["cpu_pct"],
        "gen_send_lag_ms_p99": step["gen"]["send_lag_ms_p99"],
        "gen_bound": max(step["gen"]["cpu_pct"]) > GEN_CPU_LIMIT,
    }


def passes(step: dict[str, Any]) -> bool:
    """Sustained: p99 under the limit, nothing lost or refused, ≥ 95% of the offer delivered."""
    return (
        step["latency_n"] > 0
        and step["latency_ms"]["p99"] < P99_LIMIT_MS
        and step["tally"]["lost"] == 0
        and step["tally"]["duplicates"] == 0
        and not step["errors"]
        and step["delivered_s"] >= 0.95 * step["offered_deliveries_s"]
    )


async def fixed_load(
    t: Target,
    p: Profile,
    tag: str,
    rooms: int,
    members: int,
    rate: float,
    duration: float,
    **plan_args: Any,
) -> dict[str, Any]:
    names = await t.rooms(rooms, members, tag)
    plan = LoadPlan(t.spec(names), members, p.sender_fraction, procs=p.procs, **plan_args)
    async with LoadSession(plan, t.pid) as session:
        step = await session.step(rate, duration, p.warmup)
        out = summary_of(step)
        out["join"] = session.joined
        out["raw"] = step
        return out


async def soak(t: Target, p: Profile) -> dict[str, Any]:
    rooms = max(1, p.soak_members // p.soak_room)
    names = await t.rooms(rooms, p.soak_room, "soak")
    plan = LoadPlan(
        t.spec(names),
        p.soak_room,
        0.0,
        procs=p.procs,
        idle=True,
        join_timeout=60,
        join_budget=p.soak_join_budget,
    )
    async with LoadSession(plan, t.pid) as session:
        held = await session.hold(3.0)
        return {"join": session.joined, **held}


async def step_up(
    t: Target, p: Profile, budget: Budget, turn: asyncio.Lock | None = None
) -> dict[str, Any]:
    """Scenario (e) on one server. With ``turn`` (shared by the servers of an interleaved
    search, :func:`step_ups`), everything that loads the box (the joins, each step, the
    drain after a failed step, the reference loop) waits for its turn: the servers take one
    step each in turn, so the box's phase is the same for all of them."""
    own_turn = turn or asyncio.Lock()
    async with contextlib.AsyncExitStack() as stack:
        async with own_turn:
            names = await t.rooms(p.e_rooms, p.e_members, "e")
            # The box's speed for Python just before and after this search: it has changed
            # by 2× within one run (a lone search is compared with others found minutes apart).
            box_before = machine.python_loop_ms()
            plan = LoadPlan(t.spec(names), p.e_members, p.sender_fraction, procs=p.procs)
            session = await stack.enter_async_context(LoadSession(plan, t.pid))
        steps: list[dict[str, Any]] = []
        best: dict[str, Any] | None = None
        first_fail: float | None = None
        retried = False
        offers = list(p.e_steps)
        i = 0
        lowest_fail: float | None = None  # once set, the search is bisecting
        bisections = 0
        while i < len(offers):
            offered = offers[i]
            async with own_turn:
                if not budget.allows(f"{t.label} e@{offered:.0f}", p.step_duration + 3):
                    break
                step = await t.step(session, offered / p.e_members, p)
                ok = passes(step)
                if not ok and not step["closed"]:
                    # Let the server drain what the failed step queued, before anyone's next
                    # step.
                    await asyncio.sleep(DRAIN_S)
            row = {**summary_of(step), "pass": ok}
            steps.append(row)
            log(
                f"  {t.label} e {offered:>8.0f}/s → {row['delivered_s']:>9.0f}/s p99 "
                f"{_ms(row['p99_ms']):>7} ms lost {row['lost']} {'ok' if ok else 'FAIL'} "
                f"gen {row['gen_cpu_pct']}"
            )
            if ok:
                if best is None or row["delivered_s"] > best["delivered_s"]:
                    best = row
                i += 1
            elif row["closed"]:
                # Members were disconnected (an overflowing send buffer, or a policy close):
                # the session cannot measure another step.
                break
            else:
                if not retried:
                    # The box is shared: one noisy step must not end the search. Same offer.
                    retried = True
                    row["retried"] = True
                    continue
                if first_fail is None:
                    first_fail = offered
                lowest_fail = offered if lowest_fail is None else min(lowest_fail, offered)
                i += 1
            if lowest_fail is None:
                continue  # still climbing the steps
            # Bisecting between the best pass and the lowest failure, at most BISECTIONS
            # times: the steps are 25-30% apart, too coarse to rank servers failing at one.
            last_ok = best["offered_deliveries_s"] if best else None
            if bisections < BISECTIONS and last_ok is not None and lowest_fail / last_ok > 1.1:
                bisections += 1
                offers = [*offers[:i], round((last_ok + lowest_fail) / 2, -2)]
            else:
                break
        async with own_turn:
            box_after = machine.python_loop_ms()
    # Taken at the fixed offer whether or not it was sustained: CPU per delivery stays
    # meaningful when a server saturates (it is then its whole CPU over what it delivered).
    at_fixed = next((s for s in steps if s["offered_deliveries_s"] == p.e_fixed), None)
    return {
        "box_ms": [box_before, box_after],
        "interleaved": turn is not None,
        "rooms": p.e_rooms,
        "members": p.e_members,
        "steps": steps,
        "max_sustained_s": best["delivered_s"] if best else 0.0,
        # The highest offer passed: the server's maximum is at least this, not this.
        "capped": best is not None and best["offered_deliveries_s"] == p.e_steps[-1],
        "max_sustained_step": best,
        "first_fail_offered_s": first_fail,
        "cpu_us_at_fixed": at_fixed["cpu_us_per_delivery"] if at_fixed else None,
        # The part of it spent in child processes (Haven's semantic crisis screen).
        "cpu_us_children_at_fixed": (
            at_fixed.get("cpu_us_per_delivery_children") if at_fixed else None
        ),
        "screen_at_fixed": (
            {"us_per_msg": at_fixed["screen_us_per_msg"], "pct": at_fixed["screen_pct"]}
            if at_fixed and at_fixed.get("screen_us_per_msg") is not None
            else None
        ),
        "fixed_deliveries_s": p.e_fixed,
    }


async def stalled(t: Target, p: Profile) -> dict[str, Any]:
    args = {"text_bytes": p.d_text_bytes}
    base = await fixed_load(t, p, "d0-", 1, p.d_members, p.d_rate, p.d_duration, **args)
    # The stalled member is an ordinary non-sender, non-probe in the middle of the room.
    victim = p.d_members // 2
    with_stall = await fixed_load(
        t, p, "d1-", 1, p.d_members, p.d_rate, p.d_duration, stalled=(victim,), **args
    )
    raw = with_stall["raw"]
    return {
        "members": p.d_members,
        "text_bytes": p.d_text_bytes,
        "offered_deliveries_s": p.d_rate * p.d_members,
        "baseline": {k: v for k, v in base.items() if k != "raw"},
        "stalled": {k: v for k, v in with_stall.items() if k != "raw"},
        "stalled_member_closed": raw["closed"],
        "stalled_member_tally": raw["stalled_tally"],
        "p99_ratio": (
            with_stall["p99_ms"] / base["p99_ms"]
            if base["p99_ms"] and with_stall["p99_ms"] is not None
            else None
        ),
        "server_rss_growth_mb": raw["server"]["rss_end_mb"] - raw["server"]["rss_start_mb"],
    }


@dataclass(frozen=True)
class Contestant:
    """One server of the interleaved step-up: a target or one of Haven's variants."""

    kind: str
    label: str
    haven_env: dict[str, str] | None = None
    workers: int = 1
    redis: bool = False  # Haven's room log on a throwaway redis-server


async def step_ups(
    contestants: list[Contestant], p: Profile, budget: Budget
) -> dict[str, dict[str, Any]]:
    """Scenario (e) for every contestant at once, each on a fresh server: one step of each
    in turn (round robin, in the order given), until every search has ended. The box's speed
    drifts by up to 2× within a run (docs/benchmarks.md); searches run one after the other
    compared servers measured minutes apart, on a box of another speed. By label: the (e)
    result, or ``{"error": ...}`` for a server that could not be started."""
    out: dict[str, dict[str, Any]] = {}
    log(f"== (e) interleaved: {', '.join(c.label for c in contestants)}")
    async with contextlib.AsyncExitStack() as stack:
        started: list[tuple[Contestant, Target]] = []
        for c in contestants:
            try:
                env = dict(c.haven_env or {})
                if c.redis:
                    env["HAVEN_ROOM_LOG_URL"] = stack.enter_context(servers.redis_server())
                t = await stack.enter_async_context(
                    running(c.kind, f"{c.label}-e", env if c.kind == "haven" else None, c.workers)
                )
            except Exception as exc:  # noqa: BLE001 - the others still run
                log(f"  {c.label} could not run: {type(exc).__name__}: {exc}")
                out[c.label] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            t.label = c.label
            started.append((c, t))
        turn = asyncio.Lock()  # FIFO: a server that has had its step queues behind the others
        results = await asyncio.gather(
            *(step_up(t, p, budget, turn) for _, t in started), return_exceptions=True
        )
    for (c, _), r in zip(started, results, strict=True):
        if isinstance(r, BaseException):
            log(f"  {c.label} e failed: {type(r).__name__}: {r}")
            out[c.label] = {"error": f"{type(r).__name__}: {r}"}
        else:
            log(f"  {c.label} e: {brief('e', r)}")
            out[c.label] = r
    return out


async def measure_target(
    kind: str,
    p: Profile,
    budget: Budget,
    haven_env: dict[str, str] | None,
    only: tuple[str, ...],
) -> dict[str, Any]:
    """Scenarios c, a, b and d (those in ``only``) on one fresh server of ``kind``; (e) runs
    interleaved with the other servers' (:func:`step_ups`)."""
    label = kind
    out: dict[str, Any] = {"kind": kind, "label": label, "workers": 1}
    log(f"== {label}")
    started = time.monotonic()
    try:
        async with running(kind, label, haven_env) as t:
            scenarios: list[tuple[str, float, Callable[[], Awaitable[dict[str, Any]]]]] = [
                ("c", 40, lambda: soak(t, p)),
                (
                    "a",
                    p.duration + 15,
                    lambda: fixed_load(t, p, "a", p.a_rooms, p.a_members, p.a_rate, p.duration),
                ),
                (
                    "b",
                    p.duration + 10,
                    lambda: fixed_load(t, p, "b", 1, p.b_members, p.b_rate, p.duration),
                ),
                ("d", 2 * p.d_duration + 15, lambda: stalled(t, p)),
            ]
            for name, needs, run in scenarios:
                if name not in only or not budget.allows(f"{label} {name}", needs):
                    continue
                t0 = time.monotonic()
                try:
                    result = await run()
                except Exception as exc:  # noqa: BLE001
                    # One scenario failing must not lose the others' figures.
                    log(f"  {label} {name} failed: {type(exc).__name__}: {exc}")
                    out[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    continue
                result.pop("raw", None)
                out[name] = result
                log(
                    f"  {label} {name} done in {time.monotonic() - t0:.0f} s: {brief(name, result)}"
                )
    except Exception as exc:  # noqa: BLE001
        log(f"  {label} could not run: {type(exc).__name__}: {exc}")
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def brief(name: str, r: dict[str, Any]) -> str:
    if name == "c":
        return f"{r['connected']} held, {r['rss_per_member_kib']:.1f} KiB/member"
    if name in ("a", "b"):
        return (
            f"{r['delivered_s']:.0f}/s p50 {_ms(r['p50_ms'])} p99 {_ms(r['p99_ms'])} ms "
            f"lost {r['lost']} errors {r['errors']} cpu {r['cpu_us_per_delivery'] or 0:.1f} "
            "µs/delivery"
        )
    if name == "e":
        return f"max {r['max_sustained_s']:.0f}/s, {r['cpu_us_at_fixed']} µs/delivery at fixed"
    if name == "d":
        return (
            f"p99 {_ms(r['baseline']['p99_ms'])} → {_ms(r['stalled']['p99_ms'])} ms, "
            f"stalled member: {r['stalled_member_closed']}"
        )
    return ""


async def generator_check(kind: str, p: Profile, budget: Budget) -> dict[str, Any]:
    """Same load with 1 and 2 generator processes, and with every member a probe."""
    rate = p.check_deliveries / p.e_members
    out: dict[str, Any] = {"kind": kind, "offered_deliveries_s": p.check_deliveries, "runs": []}
    log(f"== generator check on {kind} at {p.check_deliveries:.0f} deliveries/s")
    async with running(kind, f"{kind}-check") as t:
        for procs, batch in ((1, 8192), (2, 8192), (2, 0)):
            if not budget.allows(f"generator check procs={procs} batch={batch}", p.duration + 5):
                break
            names = await t.rooms(p.e_rooms, p.e_members, "g")
            plan = LoadPlan(
                t.spec(names), p.e_members, p.sender_fraction, procs=procs, batch_reads=batch
            )
            async with LoadSession(plan, t.pid) as session:
                step = await session.step(rate, p.duration, p.warmup)
            row = {"procs": procs, "batch_reads": batch, **summary_of(step)}
            out["runs"].append(row)
            log(
                f"  procs={procs} batch={batch}: {row['delivered_s']:.0f}/s "
                f"p50 {_ms(row['p50_ms'])} "
                f"p99 {_ms(row['p99_ms'])} ms gen cpu {row['gen_cpu_pct']} "
                f"server {row['cpu_us_per_delivery'] or 0:.1f} µs/delivery"
            )
    return out


# --------------------------------------------------------------------------- main


async def _interleaved(
    result: dict[str, Any],
    p: Profile,
    budget: Budget,
    targets: tuple[str, ...],
    extra: dict[str, str],
    *,
    variants: bool,
) -> None:
    """(e) for the targets, and (f) for Haven unless ``variants`` is off, interleaved
    (:func:`step_ups`); each result goes into ``result`` beside the target's other scenarios."""
    contestants = [Contestant(kind, kind, extra if kind == "haven" else None) for kind in targets]
    if "haven" in targets and variants:
        if "moderation" in haven_setup.settings_fields():
            off = {**extra, "HAVEN_MODERATION": "false"}
            contestants.insert(1, Contestant("haven", "haven-moderation-off", off))
        else:
            result["variants"]["haven-moderation-off"] = {
                "error": "this Haven has no `moderation` setting (HAVEN_MODERATION) yet"
            }
        contestants.insert(2, Contestant("haven", "haven-redis-2w", extra, 2, redis=True))
    started = time.monotonic()
    searched = await step_ups(contestants, p, budget)
    for c in contestants:
        if c.label in result["targets"]:
            result["targets"][c.label]["e"] = searched[c.label]
        else:
            result["variants"][c.label] = {
                "kind": c.kind,
                "label": c.label,
                "workers": c.workers,
                "e": searched[c.label],
            }
    result["e_seconds"] = round(time.monotonic() - started, 1)


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    p = QUICK if args.quick else FULL
    if args.procs:
        p = replace(p, procs=args.procs)
    budget = Budget(args.budget)
    targets = tuple(args.targets.split(",")) if args.targets else ALL_TARGETS
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": args.command_line,
        "profile": {k: getattr(p, k) for k in p.__dataclass_fields__},
        "machine": machine.describe(),
        "targets": {},
        "variants": {},
    }
    if any(k.endswith("-node") for k in targets):
        servers.ensure_node_modules()
    extra = dict(item.split("=", 1) for item in args.haven_env)
    # Scenarios c, a, b and d, one server at a time, Haven first; then (e) for every server
    # and variant together, one step of each in turn (step_ups); the generator check last.
    scenarios = tuple(args.scenarios.split(","))
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}: choose among {SCENARIOS}")
    for kind in targets:
        only = tuple(s for s in scenarios if s != "e")
        result["targets"][kind] = (
            await measure_target(kind, p, budget, extra if kind == "haven" else None, only)
            if only
            else {"kind": kind, "label": kind, "workers": 1}
        )
    if "e" in scenarios:
        await _interleaved(result, p, budget, targets, extra, variants=not args.no_variants)
    if not args.no_check:
        check_kind = "ws-node" if "ws-node" in targets else targets[-1]
        if budget.allows("generator check", 3 * (p.duration + 5)):
            result["generator_check"] = await generator_check(check_kind, p, budget)
    result["machine"]["python_loop_ms_at_end"] = machine.python_loop_ms()
    result["skipped"] = budget.skipped
    result["seconds"] = round(time.monotonic() - budget.started, 1)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI-size smoke (about 4 minutes)")
    parser.add_argument("--budget", type=float, default=780, help="seconds for everything")
    parser.add_argument("--targets", help=f"comma-separated subset of {','.join(ALL_TARGETS)}")
    parser.add_argument("--procs", type=int, help="generator processes (default 2)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated subset of c,a,b,d,e (default: all; f comes with e)",
    )
    parser.add_argument("--no-variants", action="store_true", help="skip scenario f")
    parser.add_argument("--no-check", action="store_true", help="skip the generator check")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/")
    parser.add_argument(
        "--haven-env",
        action="append",
        default=[],
        metavar="HAVEN_X=value",
        help="extra setting for every Haven server (repeatable), e.g. to try a tuning",
    )
    args = parser.parse_args(argv)
    args.command_line = os.environ.get("BENCH_COMMAND") or shlex.join(
        ["python", "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]
    )
    raise_nofile()
    result = uvloop.run(run_all(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"bench-{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(result, indent=1))
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=1))
    log(f"results: {path.relative_to(ROOT)} ({result['seconds']:.0f} s)")
    if not args.no_docs:
        report.write_docs(result)
        log("docs: docs/benchmarks.md, docs/benchmarks-latency.png")


if __name__ == "__main__":
    main()
