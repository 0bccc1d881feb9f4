"""The semantic crisis screen, run after delivery on one background thread.

Crisis care never gates a message, so the embedding screen (``semantic.py``, ~6-11 ms of CPU)
runs after the message is on its way to the room, off the event loop:

    event loop                         worker thread              child process
    ----------                         -------------              -------------
    submit(text, ticket)
      cheap gate -> skip   ("gated")
      budgets -> skip      ("over_budget")
      queue full -> drop   ("queue_full")
      queue.put_nowait(job)  ------->  judge(job.text)  ------->  embed + compare
                                       (waits, lock-free) <-----  crisis kind or None
    on_crisis(ticket, kind) <-------   call_soon_threadsafe

The budgets and the queue bound the work whatever the message rate: a 2,000 messages/s burst
costs at most ``per_second`` screens a second, keeps the model busy at most ``share`` of the
time (about 22 screens a second at the default 0.25 and ~11 ms each, the
cost of a 140-character message), and holds at most
``queue_max`` texts in memory. Texts live
only in the queue and the worker's frame until screened (docs/privacy.md); nothing here logs
or stores a text, a name or an id. Outcomes are counted through ``count(outcome)`` with the
fixed labels of :data:`OUTCOMES`.

The model runs in one child process per server process (:class:`ProcessScreen`), at a lower
CPU priority than the event loop (``semantic_child.NICENESS``): on a thread, its Python work
held the interpreter lock against the event loop. The worker thread only waits on the child.
The child
starts and loads the model when :meth:`start` is called (about 2.5 s of CPU, once per process:
:func:`shared_process_screen`), so start-up does not wait for it; messages submitted meanwhile
wait in the queue. Missing model files switch the screen off with one warning (outcome "off").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, Literal, Protocol, TypeVar

from .semantic import SemanticCrisis, worth_screening
from .verdict import CrisisKind

__all__ = ["OUTCOMES", "AfterDeliveryScreen", "Outcome", "shared_screen"]

logger = logging.getLogger("haven.moderation")

Outcome = Literal["crisis", "clear", "gated", "over_budget", "queue_full", "ended", "off", "error"]
OUTCOMES: Final[tuple[Outcome, ...]] = (
    "crisis",
    "clear",
    "gated",
    "over_budget",
    "queue_full",
    "ended",
    "off",
    "error",
)

T = TypeVar("T")

_LOCK = threading.Lock()
_SHARED: SemanticCrisis | None = None


def shared_screen() -> SemanticCrisis:
    """The process's semantic screen, built on first use (thread safe; the encoder and the
    seed embeddings are read-only afterwards, so several apps in one process, as in the
    tests, share one copy). Raises FileNotFoundError when the model is not installed."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            from .embed import Encoder, single_threaded_blas

            single_threaded_blas()
            _SHARED = SemanticCrisis(Encoder.load())
        return _SHARED


class Judge(Protocol):
    """What the worker needs of a screen: :class:`SemanticCrisis` or :class:`ProcessScreen`."""

    def judge(self, text: str) -> CrisisKind | None: ...


# -- the screen in a child process ------------------------------------------------------------
#
# The embedding was ~13 ms of CPU per message in numpy, much of it Python between numpy calls,
# which holds the interpreter lock: on a thread of the server it took the lock from the event
# loop for milliseconds at a time (measured: the moderation-on benchmark's maximum rate fell
# from 45,000 to 30,000 deliveries/s). In a child process it costs the server one pipe round
# trip, and the child's CPU is what the busy-time budget bounds, whatever runs the model.


class ProcessScreen:
    """:class:`SemanticCrisis` in a child process (``app/moderation/semantic_child.py``),
    spoken to over its stdin and stdout, one JSON line each way. Texts cross the pipe in
    memory and nothing else; the child's stderr goes to /dev/null. The child ends when the
    server does (its stdin closes). A child that dies is started again on the next message
    (that message counts as an error)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child = self._start()

    @staticmethod
    def _start() -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-m", "app.moderation.semantic_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        reply = json.loads(first) if first else {"error": "exited"}
        if not reply.get("ready"):
            child.kill()
            child.wait()
            if reply.get("error") == "FileNotFoundError":
                raise FileNotFoundError("semantic crisis model not installed")
            raise RuntimeError(f"semantic crisis screen did not start: {reply.get('error')}")
        return child

    def close(self) -> None:
        """End the child (it exits when its stdin closes)."""
        with self._lock:
            child = self._child
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            try:
                child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def judge(self, text: str) -> CrisisKind | None:
        with self._lock:
            child = self._child
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps(text) + "\n")
                child.stdin.flush()
                line = child.stdout.readline()
            except OSError:
                line = ""
            if not line:
                child.kill()
                child.wait()
                self._child = self._start()
                raise RuntimeError("semantic crisis screen restarted")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("semantic crisis screen failed on a message")
        kind: CrisisKind | None = reply["kind"]
        return kind


_PROCESS_LOCK = threading.Lock()
_PROCESS: ProcessScreen | None = None


def shared_process_screen() -> ProcessScreen:
    """The process's screen child, started on first use and shared by every app in the process
    (the tests run many). Raises FileNotFoundError when the model is missing."""
    global _PROCESS
    with _PROCESS_LOCK:
        if _PROCESS is None:
            _PROCESS = ProcessScreen()
            atexit.register(_PROCESS.close)
        return _PROCESS


@dataclass(frozen=True, slots=True)
class _Job(Generic[T]):
    text: str
    ticket: T
    estimate: float
    """Seconds of screen time charged to the busy budget when queued (corrected when done)."""


class _Budget:
    """A token bucket: ``rate`` screens a second, bursts of ``rate``. Event loop only."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._tokens = rate
        self._clock = clock
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class _BusyBudget:
    """How much of the time the screen may keep the CPU busy: a ``share`` of one core.

    Each queued screen is charged its expected duration (a moving average of measured ones);
    when it is done, the charge is corrected to the time it took. The debt is paid back at
    ``share`` seconds a second, and a new screen is queued only while the debt stays under one
    second's worth. Durations are wall time around the screen: when the box is busy the niced
    child runs slower, each screen costs more of the budget, and fewer are screened, which is
    the point. Event loop only.
    """

    def __init__(self, share: float, clock: Callable[[], float]) -> None:
        self._share = share
        self._clock = clock
        self._at = clock()
        self._debt = 0.0
        self.estimate = 0.011  # seconds; a 140-character message on the project's 2-core box

    def over(self) -> bool:
        """Whether a screen now would go over the budget (charges nothing)."""
        now = self._clock()
        self._debt = max(0.0, self._debt - (now - self._at) * self._share)
        self._at = now
        return self._debt >= self._share

    def take(self) -> float | None:
        """Charge one screen: its estimate, or None when over the budget."""
        if self.over():
            return None
        self._debt += self.estimate
        return self.estimate

    def done(self, charged: float, took: float) -> None:
        """A screen charged ``charged`` took ``took`` seconds: correct the debt and the
        estimate."""
        self._debt = max(0.0, self._debt + took - charged)
        self.estimate = 0.8 * self.estimate + 0.2 * took

    def refund(self, charged: float) -> None:
        """A charged screen was not queued after all (the other budget, a full queue)."""
        self._debt = max(0.0, self._debt - charged)


class AfterDeliveryScreen(Generic[T]):
    """Screens delivered messages on one worker thread; calls ``on_crisis(ticket, kind)`` on
    the event loop for each crisis.

    ``ticket`` is whatever the caller needs to act on a result (the rooms core passes the
    room, the sender and the message's cid); it is handed back untouched. ``load`` builds the
    screen the worker thread hands texts to (default :func:`shared_process_screen`). Use
    from one event loop: :meth:`start` there, :meth:`submit` from it, :meth:`close` at shutdown.
    """

    def __init__(
        self,
        on_crisis: Callable[[T, CrisisKind], None],
        *,
        count: Callable[[Outcome], None] = lambda outcome: None,
        per_second: float = 40.0,
        share: float = 0.25,
        queue_max: int = 64,
        load: Callable[[], Judge] = shared_process_screen,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_crisis = on_crisis
        self._count = count
        self._budget = _Budget(per_second, clock)
        self._busy = _BusyBudget(share, clock)
        self._queue: queue.Queue[_Job[T] | None] = queue.Queue(maxsize=queue_max)
        self._load = load
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._off = False
        self.ready = threading.Event()
        """Set once the model is loaded (or failed to load)."""

    @property
    def off(self) -> bool:
        """True when the model could not be loaded: every submit is skipped."""
        return self._off

    def start(self) -> None:
        """Start the worker thread, which loads the model first. Call on the event loop."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="haven-semantic", daemon=True)
        self._thread.start()

    def submit(self, text: str, ticket: T) -> None:
        """Queue ``text`` (a delivered message's display form) for screening. Never blocks:
        skips and counts what the gate, the budget or a full queue turn away."""
        if self._off or self._thread is None:
            self._count("off")
            return
        if self._busy.over():  # first: under sustained load most messages stop here
            self._count("over_budget")
            return
        if not worth_screening(text):
            self._count("gated")
            return
        charged = self._busy.take()
        if charged is None or not self._budget.take():
            if charged is not None:
                self._busy.refund(charged)
            self._count("over_budget")
            return
        try:
            self._queue.put_nowait(_Job(text, ticket, charged))
        except queue.Full:
            self._busy.refund(charged)
            self._count("queue_full")

    def forget(self, drop: Callable[[T], bool]) -> int:
        """Take out of the queue the jobs whose ticket ``drop`` selects, unscreened (counted
        as "ended"), and return how many. For a meeting that ended: nobody is left to get its
        care, and its texts must not outlive it (docs/privacy.md). A job the worker has
        already taken is screened, and its care is not sent (``room.ended``)."""
        q = self._queue
        kept: list[_Job[T] | None] = []
        dropped: list[_Job[T]] = []
        with q.mutex:  # Queue's own lock: the worker's get() waits on it meanwhile
            for job in q.queue:
                if job is not None and drop(job.ticket):
                    dropped.append(job)
                else:
                    kept.append(job)
            if dropped:
                q.queue.clear()
                q.queue.extend(kept)
                q.not_full.notify(len(dropped))
        for job in dropped:
            self._busy.refund(job.estimate)
            self._count("ended")
        return len(dropped)

    async def close(self) -> None:
        """Stop the worker after the queued jobs (bounded: at most ``queue_max``)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        # A blocking put could wait behind a full queue; from a thread, not on the loop.
        await asyncio.to_thread(self._queue.put, None)
        await asyncio.to_thread(thread.join, 10)

    def _run(self) -> None:
        try:
            screen = self._load()
        except (OSError, ValueError, RuntimeError) as exc:  # model missing; the child died
            self._off = True
            logger.warning(
                "semantic crisis screen off: model not available (%s)", type(exc).__name__
            )
            self._drain()
            return
        finally:
            self.ready.set()
        while (job := self._queue.get()) is not None:
            started = time.perf_counter()
            outcome: Outcome
            try:
                kind = screen.judge(job.text)
                outcome = "clear" if kind is None else "crisis"
            except Exception:  # noqa: BLE001 - a bad input must not stop the worker
                # No text and no exception message: either could quote the message.
                logger.error("semantic crisis screen failed on a message")
                kind, outcome = None, "error"
            # The budget's correction reaches the loop before the outcome does, so whoever has
            # seen the outcome sees the budget with this screen's real cost in it.
            self._call(self._busy.done, job.estimate, time.perf_counter() - started)
            self._report(outcome)
            if kind is not None:
                self._call(self._on_crisis, job.ticket, kind)
            del job  # the text goes now, not when the next message arrives

    def _drain(self) -> None:
        while True:
            try:
                if self._queue.get_nowait() is None:
                    return
            except queue.Empty:
                return

    def _report(self, outcome: Outcome) -> None:
        self._call(self._count, outcome)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed between the check and the call
            return
