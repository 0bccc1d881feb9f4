"""Pure accounting helpers of the load generator: percentiles, loss and duplicate counting.

Nothing here does I/O or reads a clock, so the numbers the bench reports can be checked by
`tests/unit/test_bench_stats.py` on hand-made inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, astuple, dataclass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence; q in [0, 100].

    Nearest rank (no interpolation) so a reported p99 is always a latency that was observed.
    Raises ValueError on an empty sequence or a q outside [0, 100].
    """
    if not sorted_values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within [0, 100], got {q}")
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Distribution summary; all fields 0 when there was no sample (n == 0)."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(values: Iterable[float]) -> Summary:
    """p50/p90/p99/max/mean of the values (any order)."""
    ordered = sorted(values)
    if not ordered:
        return Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return Summary(
        n=len(ordered),
        p50=percentile(ordered, 50),
        p90=percentile(ordered, 90),
        p99=percentile(ordered, 99),
        max=ordered[-1],
        mean=sum(ordered) / len(ordered),
    )


class ReceiverLedger:
    """What one receiving member saw, keyed by the unique id embedded in each message.

    `record(uid)` returns False for a duplicate delivery. Loss is judged afterwards against
    the ids that were sent to the member's room (`tally`).
    """

    __slots__ = ("received", "seen")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.received = 0

    def record(self, uid: int) -> bool:
        self.received += 1
        if uid in self.seen:
            return False
        self.seen.add(uid)
        return True

    @property
    def unique(self) -> int:
        return len(self.seen)

    @property
    def duplicates(self) -> int:
        return self.received - len(self.seen)


@dataclass(frozen=True)
class Tally:
    """Deliveries of a set of receivers against what was sent to their rooms."""

    expected: int
    received: int
    unique: int
    lost: int
    duplicates: int
    unexpected: int  # unique ids received that nobody sent to that room: a cross-room leak

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


ZERO = Tally(0, 0, 0, 0, 0, 0)


def tally(sent_to_room: set[int] | frozenset[int], seen: set[int], received: int) -> Tally:
    """Exact accounting of one receiver: every id sent to its room is expected once.

    lost = sent ids never seen; duplicates = deliveries beyond the first of an id;
    unexpected = seen ids that were not sent to this room.
    """
    unexpected = len(seen - sent_to_room)
    unique_expected = len(seen) - unexpected
    return Tally(
        expected=len(sent_to_room),
        received=received,
        unique=len(seen),
        lost=len(sent_to_room) - unique_expected,
        duplicates=received - len(seen),
        unexpected=unexpected,
    )


def tally_counts(sent_to_room: int, unique: int, received: int) -> Tally:
    """Accounting from counts only, when the sent ids live in another generator process.

    Sound because ids are unique per sender and a receiver only counts ids of its room's
    format; an unexpected id would show up as a negative loss, which is clamped and reported.
    """
    unexpected = max(0, unique - sent_to_room)
    return Tally(
        expected=sent_to_room,
        received=received,
        unique=unique,
        lost=max(0, sent_to_room - unique),
        duplicates=received - unique,
        unexpected=unexpected,
    )


def rate_in_window(times: Iterable[float], start: float, end: float) -> float:
    """Events per second whose time lies in [start, end); 0 for an empty window."""
    span = end - start
    if span <= 0:
        return 0.0
    return sum(1 for t in times if start <= t < end) / span
