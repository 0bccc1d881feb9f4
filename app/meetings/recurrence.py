"""Weekly meeting schedules: when is the next meeting, and is one on now?

Pure functions: no clock, no database; the caller passes ``after`` / ``now``.

A schedule is a set of weekdays (0 = Monday), a local wall-clock start time, a duration and an
IANA time zone. A meeting happens at that wall-clock time in its zone, so its UTC time moves
when the zone changes between standard and daylight time. Two local times need a rule:

- a start time that does not exist (the hour skipped when clocks spring forward, e.g. 02:30 in
  New York on 2026-03-08) is shifted forward by the gap: the meeting starts at 03:30 local;
- a start time that happens twice (the hour repeated when clocks fall back) takes its first
  occurrence (``fold=0``, the daylight-time one).

Both follow from PEP 495 with ``fold=0``: ``zoneinfo`` maps a skipped wall time with the offset in
force before the transition, which is exactly "shift forward by the gap". Durations are elapsed
time, so a 60-minute meeting across a transition lasts 60 real minutes.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _as_zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _start_on(day: date, start_time: time, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, start_time.replace(tzinfo=None), tzinfo=zone).replace(fold=0)
    return local.astimezone(UTC)


def _starts_from(
    weekdays: frozenset[int], start_time: time, zone: ZoneInfo, first_day: date
) -> Iterable[datetime]:
    """Yield UTC starts on or after ``first_day`` (local), in order, forever."""
    day = first_day
    while True:
        if day.weekday() in weekdays:
            yield _start_on(day, start_time, zone)
        day += timedelta(days=1)


def _check(after: datetime, weekdays: Iterable[int]) -> frozenset[int]:
    if after.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    days = frozenset(weekdays)
    if not days <= frozenset(range(7)):
        raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
    return days


def next_occurrences(
    weekdays: Iterable[int],
    start_time: time,
    duration_min: int,
    tz: ZoneInfo | str,
    after: datetime,
    count: int,
) -> list[datetime]:
    """Return the UTC starts of the next ``count`` occurrences starting at or after ``after``.

    ``after`` must be timezone-aware. An empty ``weekdays`` (no schedule) gives ``[]``.
    ``duration_min`` is unused for the starts but kept so every schedule function takes the
    same arguments.
    """
    days = _check(after, weekdays)
    if not days or count <= 0:
        return []
    zone = _as_zone(tz)
    # Start a day early: the local date of ``after`` may be ahead of a start still to come in
    # UTC terms only through the offset, never more than one day.
    first = after.astimezone(zone).date() - timedelta(days=1)
    result: list[datetime] = []
    for start in _starts_from(days, start_time, zone, first):
        if start >= after:
            result.append(start)
            if len(result) == count:
                break
    return result


def current_start(
    weekdays: Iterable[int],
    start_time: time,
    duration_min: int,
    tz: ZoneInfo | str,
    now: datetime,
) -> datetime | None:
    """Return the UTC start of the occurrence in progress at ``now``, or None.

    An occurrence is in progress from its start (inclusive) to start + duration (exclusive).
    """
    days = _check(now, weekdays)
    if not days or duration_min <= 0:
        return None
    zone = _as_zone(tz)
    length = timedelta(minutes=duration_min)
    # Any occurrence still running started within ``length`` before now; look back that many
    # local days plus one for the offset.
    first = (now - length).astimezone(zone).date() - timedelta(days=1)
    for start in _starts_from(days, start_time, zone, first):
        if start > now:
            return None
        if now < start + length:
            return start
    raise AssertionError("unreachable: the generator is infinite")  # pragma: no cover


def is_live(
    weekdays: Iterable[int],
    start_time: time,
    duration_min: int,
    tz: ZoneInfo | str,
    now: datetime,
) -> bool:
    """True when an occurrence is scheduled to be in progress at ``now``."""
    return current_start(weekdays, start_time, duration_min, tz, now) is not None


def parse_start_time(value: str) -> time:
    """Parse the stored "HH:MM" local start time."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def parse_weekdays(value: str) -> frozenset[int]:
    """Parse the stored weekday list, e.g. "0,2,4" (0 = Monday); "" means no schedule."""
    return frozenset(int(part) for part in value.split(",") if part.strip())


def format_weekdays(days: Iterable[int]) -> str:
    return ",".join(str(day) for day in sorted(set(days)))
