"""The after-delivery worker: gate, budget, bounded queue, results back on the event loop."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any, cast

import pytest

from app.moderation.after_delivery import OUTCOMES, AfterDeliveryScreen, Outcome
from app.moderation.semantic import SemanticCrisis
from app.moderation.verdict import CrisisKind

TIMEOUT_S = 5.0


class Stub:
    """A stand-in for SemanticCrisis: "crisis" in the text is a crisis; may block or fail."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.seen: list[str] = []

    def judge(self, text: str) -> CrisisKind | None:
        self.gate.wait(TIMEOUT_S)
        if "explode" in text:
            raise RuntimeError(text)
        self.seen.append(text)
        return "suicide" if "crisis" in text else None


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.found: list[tuple[Any, CrisisKind]] = []
        self.changed = asyncio.Event()
        self.threads: set[int] = set()

    def count(self, outcome: Outcome) -> None:
        assert outcome in OUTCOMES
        self.threads.add(threading.get_ident())
        self.outcomes.append(outcome)
        self.changed.set()

    def on_crisis(self, ticket: Any, kind: CrisisKind) -> None:
        self.threads.add(threading.get_ident())
        self.found.append((ticket, kind))
        self.changed.set()

    async def until(self, n: int) -> None:
        async def wait() -> None:
            while len(self.outcomes) < n:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), TIMEOUT_S)


def make(rec: Recorder, stub: Stub, **kw: Any) -> AfterDeliveryScreen[str]:
    return AfterDeliveryScreen(
        rec.on_crisis, count=rec.count, load=lambda: cast(SemanticCrisis, stub), **kw
    )


async def test_crisis_comes_back_on_the_event_loop_with_its_ticket() -> None:
    rec, stub = Recorder(), Stub()
    screen = make(rec, stub)
    screen.start()
    screen.submit("this is a crisis message", "ticket-1")
    screen.submit("just an ordinary share", "ticket-2")
    await rec.until(2)
    await screen.close()
    assert rec.found == [("ticket-1", "suicide")]
    assert sorted(rec.outcomes) == ["clear", "crisis"]
    assert rec.threads == {threading.get_ident()}  # callbacks ran on the loop's thread


async def test_gate_skips_short_messages_without_queueing() -> None:
    rec, stub = Recorder(), Stub()
    screen = make(rec, stub)
    screen.start()
    for text in ("ok", "lol", "🙏", "+1"):
        screen.submit(text, "t")
    await screen.close()
    assert rec.outcomes == ["gated"] * 4 and stub.seen == []


async def test_budget_and_bounded_queue_turn_a_burst_away() -> None:
    rec, stub = Recorder(), Stub()
    stub.gate.clear()  # the worker is busy: the queue fills
    now = [0.0]
    screen = make(rec, stub, per_second=10, queue_max=4, clock=lambda: now[0])
    screen.start()
    for i in range(2000):  # a 2,000 messages/s burst, all in the same instant
        screen.submit(f"message number {i} here", "t")
    skipped = {o: rec.outcomes.count(o) for o in ("over_budget", "queue_full")}
    assert skipped["over_budget"] == 1990  # 10 a second
    assert skipped["queue_full"] in (5, 6)  # 4 queued, one maybe taken by the worker
    now[0] = 0.5  # half a second later: five more tokens
    screen.submit("a later message", "t")
    assert rec.outcomes.count("over_budget") == 1990
    stub.gate.set()
    await screen.close()
    assert len(stub.seen) <= 6


async def test_forget_takes_a_meetings_waiting_messages_out_unscreened() -> None:
    rec, stub = Recorder(), Stub()
    stub.gate.clear()  # the model is still loading, or busy: messages wait in the queue
    screen = make(rec, stub, share=1.0)
    screen.start()
    screen.submit("first message of the ended meeting", "ended:1")
    await asyncio.sleep(0.1)  # the worker takes it and waits in judge()
    for i in range(3):
        screen.submit(f"message {i} of the ended meeting", f"ended:{i + 2}")
        screen.submit(f"message {i} of another meeting", f"other:{i}")
    assert screen.forget(lambda ticket: ticket.startswith("ended:")) == 3
    assert rec.outcomes == ["ended"] * 3
    stub.gate.set()
    await rec.until(7)
    await screen.close()
    # The one already taken is screened; the others of that meeting never reach the model.
    assert stub.seen == [
        "first message of the ended meeting",
        *(f"message {i} of another meeting" for i in range(3)),
    ]
    assert screen.forget(lambda ticket: True) == 0


async def test_a_failing_message_is_counted_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec, stub = Recorder(), Stub()
    screen = make(rec, stub)
    screen.start()
    screen.submit("this will explode secretly", "t")
    screen.submit("a crisis after it", "t2")
    await rec.until(2)
    await screen.close()
    assert rec.outcomes == ["error", "crisis"]
    assert "secretly" not in caplog.text  # never a message's text in the logs


async def test_missing_model_switches_the_screen_off_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder()

    def missing() -> SemanticCrisis:
        raise FileNotFoundError("all-MiniLM-L6-v2 model files are not installed")

    screen: AfterDeliveryScreen[str] = AfterDeliveryScreen(
        rec.on_crisis, count=rec.count, load=missing
    )
    with caplog.at_level(logging.WARNING, logger="haven.moderation"):
        screen.start()
        await asyncio.to_thread(screen.ready.wait, TIMEOUT_S)
        screen.submit("a crisis while off", "t")
        await screen.close()
    assert screen.off and rec.outcomes == ["off"] and rec.found == []
    warnings = [r for r in caplog.records if r.name == "haven.moderation"]
    assert len(warnings) == 1 and "crisis while off" not in caplog.text


def test_busy_budget_keeps_the_screen_to_its_share_of_a_core() -> None:
    from app.moderation.after_delivery import _BusyBudget

    now = [0.0]
    busy = _BusyBudget(0.25, lambda: now[0])
    first = busy.estimate
    charged = []
    while (c := busy.take()) is not None:
        charged.append(c)
    # Charged the initial estimate each, until the debt reached a quarter of a second.
    assert set(charged) == {first} and len(charged) == math.ceil(0.25 / first)
    for c in charged:  # each took 50 ms: the estimate follows, the debt is corrected
        busy.done(c, 0.05)
    assert 0.04 < busy.estimate < 0.05
    owed = 0.05 * len(charged)
    now[0] = (owed - 0.25) / 0.25 - 0.1  # paid back at 0.25 s a second: just short of enough
    assert busy.take() is None
    now[0] += 0.2
    assert busy.take() is not None


async def test_a_slow_screen_uses_up_its_share_and_the_rest_is_over_budget() -> None:
    rec = Recorder()

    class Slow(Stub):
        def judge(self, text: str) -> CrisisKind | None:
            import time

            time.sleep(0.05)
            return super().judge(text)

    stub = Slow()
    screen = make(rec, stub, share=0.1, per_second=1000)
    screen.start()
    for i in range(3):
        screen.submit(f"message number {i} here", "t")
    await rec.until(3)  # each charged the initial estimate up front: three fit in 0.1 s of debt
    assert rec.outcomes.count("over_budget") == 0
    # Done: they took 50 ms each, 0.15 s of busy time against 0.1 s a second.
    for i in range(5):
        screen.submit(f"message number {i} again", "t")
    await screen.close()
    assert rec.outcomes.count("over_budget") == 5
    assert len(stub.seen) == 3


def test_screens_turned_away_after_charging_are_refunded_without_skewing_the_estimate() -> None:
    from app.moderation.after_delivery import _BusyBudget

    busy = _BusyBudget(0.25, lambda: 0.0)
    charged = busy.take()
    assert charged is not None
    busy.refund(charged)
    assert busy.estimate == charged  # only measured screens move the estimate
    assert sum(1 for _ in iter(busy.take, None)) == math.ceil(0.25 / charged)  # all of it again
