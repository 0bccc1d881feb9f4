"""The interleaved step-up of ``make bench``: one server's step at a time, each in turn."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bench import machine, run


class FakeSession:
    """Stands in for a LoadSession: a server that sustains up to ``limit`` deliveries/s."""

    log: list[tuple[str, str, float]] = []  # (label, "start"/"end", offered deliveries/s)

    def __init__(self, label: str, limit: float, members: int) -> None:
        self.label, self.limit, self.members = label, limit, members

    async def __aenter__(self) -> FakeSession:
        FakeSession.log.append((self.label, "join", 0.0))
        await asyncio.sleep(0.002)
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def step(self, rate: float, duration: float, warmup: float) -> dict[str, Any]:
        offered = rate * self.members
        FakeSession.log.append((self.label, "start", offered))
        await asyncio.sleep(0.002)  # other servers' coroutines run meanwhile, if allowed to
        FakeSession.log.append((self.label, "end", offered))
        ok = offered <= self.limit
        return {
            "offered_deliveries_s": offered,
            "delivered_s": offered if ok else 0.5 * offered,
            "latency_n": 100,
            "latency_ms": {"p50": 1.0, "p99": 10.0 if ok else 500.0, "max": 20.0},
            "tally": {"lost": 0, "duplicates": 0},
            "foreign": 0,
            "errors": {},
            "closed": {},
            "server": {"cpu_pct": 50.0, "cpu_us_per_delivery": 20.0, "rss_peak_mb": 100.0},
            "gen": {"cpu_pct": [10.0, 10.0], "send_lag_ms_p99": 1.0},
        }


LIMITS = {"a": 30_000.0, "b": 80_000.0, "c": 10_000.0}  # what each fake server sustains


@pytest.fixture
def fake_servers(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The fake servers' pids by label, with step_up's surroundings faked."""
    FakeSession.log = []

    async def rooms(self: run.Target, count: int, capacity: int, tag: str) -> tuple[str, ...]:
        return tuple(f"{tag}-{i}" for i in range(count))

    def session(plan: Any, pid: int) -> FakeSession:
        label = next(k for k, v in pids.items() if v == pid)
        # step_up offers rate = deliveries/s ÷ members of a room.
        return FakeSession(label, LIMITS[label], run.FULL.e_members)

    pids = {label: 1000 + i for i, label in enumerate(LIMITS)}
    monkeypatch.setattr(run.Target, "rooms", rooms)
    monkeypatch.setattr(run, "LoadSession", session)
    monkeypatch.setattr(machine, "python_loop_ms", lambda: 50.0)
    monkeypatch.setattr(run, "DRAIN_S", 0.0)
    return pids


async def test_interleaved_step_ups_take_turns_and_find_each_maximum(
    fake_servers: dict[str, int],
) -> None:
    p = replace(run.FULL, e_steps=(10_000, 20_000, 40_000, 80_000, 160_000))
    budget = run.Budget(3600)
    turn = asyncio.Lock()
    targets = [run.Target("x", label, 0, pid) for label, pid in fake_servers.items()]
    results = await asyncio.gather(*(run.step_up(t, p, budget, turn) for t in targets))

    # Never two servers loaded at once: every start is followed by its own end.
    log = [entry for entry in FakeSession.log if entry[1] != "join"]
    for first, second in zip(log[::2], log[1::2], strict=True):
        assert first[1] == "start" and second[1] == "end" and first[0] == second[0]
    # Round robin: while all three are searching, each takes one step per round.
    starts = [label for label, what, _ in log if what == "start"]
    assert starts[:6] == ["a", "b", "c", "a", "b", "c"]
    # The joins happen in turn too, before anyone's first step.
    assert [label for label, what, _ in FakeSession.log[:3]] == ["a", "b", "c"]

    by_label = {t.label: r for t, r in zip(targets, results, strict=True)}
    assert by_label["a"]["max_sustained_s"] == 30_000  # bisected: 20,000 → 30,000 (< 40,000)
    assert by_label["b"]["max_sustained_s"] == 80_000
    assert by_label["c"]["max_sustained_s"] == 10_000
    assert all(r["interleaved"] for r in results)


async def test_a_lone_step_up_is_not_marked_interleaved(fake_servers: dict[str, int]) -> None:
    p = replace(run.FULL, e_steps=(10_000, 20_000))
    t = run.Target("x", "c", 0, fake_servers["c"])
    result = await run.step_up(t, p, run.Budget(3600))
    assert result["max_sustained_s"] == 10_000
    assert result["interleaved"] is False
