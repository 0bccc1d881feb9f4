"""The bench's figure for Haven's own screening time over a step (bench/run.py, Target.step)."""

from __future__ import annotations

from typing import Any

import pytest

from app.metrics import Metrics
from bench import haven_setup, run


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
    assert step["server"]["screen_pct"] == pytest.approx(50.0 / p.step_duration)
    assert asked == [8001, 8001]
    # A peer, and Haven with two workers (each answers /metrics for itself): not asked.
    for target in (
        run.Target("socketio-node", "socketio-node", 8002, 2),
        run.Target("haven", "haven-redis-2w", 8003, 3, workers=2),
    ):
        step = await target.step(FakeSession(), 10.0, p)  # type: ignore[arg-type]
        assert step == {"server": {}}
    assert asked == [8001, 8001]


def test_the_totals_are_read_from_havens_own_metrics() -> None:
    metrics = Metrics()
    assert haven_setup.screen_totals_of(metrics.render().decode()) == (0.0, 0.0)
    metrics.screened(0.25)
    metrics.screened(0.5)
    metrics.verdict("allow", "ok")
    metrics.verdict("allow", "ok")
    metrics.verdict("warn", "pii")
    assert haven_setup.screen_totals_of(metrics.render().decode()) == (0.75, 3.0)
    # A Haven without the metric, or another server: nothing to report.
    assert haven_setup.screen_totals_of("haven_messages_in_total 3.0\n") is None
