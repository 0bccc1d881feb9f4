"""The bench's figure for Haven's own screening time over a step (bench/run.py, Target.step)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import run


class FakeSession:
    async def step(self, rate: float, duration: float, warmup: float) -> dict[str, Any]:
        return {"server": {}}


async def test_a_step_reports_the_screening_time_haven_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []
    totals = iter([(1.0, 100.0), (1.5, 2_100.0)])  # 0.5 s over 2,000 messages

    async def screen_totals(port: int) -> tuple[float, float]:
        asked.append(port)
        return next(totals)

    monkeypatch.setattr(run.haven_setup, "screen_totals", screen_totals)
    p = run.FULL
    step = await run.Target("haven", "haven", 8001, 1).step(FakeSession(), 10.0, p)  # type: ignore[arg-type]
    assert step["server"]["screen_us_per_msg"] == pytest.approx(250.0)
    assert step["server"]["screen_pct"] == pytest.approx(50.0 / (p.warmup + p.step_duration))
    assert asked == [8001, 8001]
    # A peer, and Haven with two workers (each answers /metrics for itself): not asked.
    for target in (
        run.Target("socketio-node", "socketio-node", 8002, 2),
        run.Target("haven", "haven-redis-2w", 8003, 3, workers=2),
    ):
        step = await target.step(FakeSession(), 10.0, p)  # type: ignore[arg-type]
        assert step == {"server": {}}
    assert asked == [8001, 8001]
