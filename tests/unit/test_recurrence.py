"""Weekly schedules across daylight-saving changes, in two time zones."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.meetings.recurrence import (
    current_start,
    format_weekdays,
    is_live,
    next_occurrences,
    parse_start_time,
    parse_weekdays,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
EVERY_DAY = range(7)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Weekly Sunday meeting at 19:00 local: the UTC start moves by one hour across each change.
@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # New York springs forward on Sunday 2026-03-08 (EST -5 -> EDT -4).
        ("America/New_York", utc(2026, 3, 1), [utc(2026, 3, 2, 0), utc(2026, 3, 8, 23)]),
        # ... and falls back on Sunday 2026-11-01 (EDT -4 -> EST -5).
        ("America/New_York", utc(2026, 10, 25), [utc(2026, 10, 25, 23), utc(2026, 11, 2, 0)]),
        # London springs forward on Sunday 2026-03-29 (GMT +0 -> BST +1).
        ("Europe/London", utc(2026, 3, 22), [utc(2026, 3, 22, 19), utc(2026, 3, 29, 18)]),
        # ... and falls back on Sunday 2026-10-25 (BST +1 -> GMT +0).
        ("Europe/London", utc(2026, 10, 18), [utc(2026, 10, 18, 18), utc(2026, 10, 25, 19)]),
    ],
)
def test_weekly_start_keeps_local_time_across_dst(
    tz: str, after: datetime, expected: list[datetime]
) -> None:
    assert next_occurrences([SUN], time(19, 0), 60, tz, after, 2) == expected


@pytest.mark.parametrize(
    ("tz", "day", "local", "expected"),
    [
        # 02:30 does not exist on the spring-forward day: shifted forward to 03:30 local.
        ("America/New_York", utc(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30)),  # 03:30 EDT
        ("Europe/London", utc(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 30)),  # 02:30 BST
        # 01:30 happens twice on the fall-back day: the first one (daylight time) is taken.
        ("America/New_York", utc(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),  # EDT
        ("Europe/London", utc(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),  # BST
    ],
)
def test_nonexistent_and_ambiguous_local_times(
    tz: str, day: datetime, local: time, expected: datetime
) -> None:
    assert next_occurrences([SUN], local, 60, tz, day, 1) == [expected]


def test_daily_meeting_across_spring_forward_in_new_york() -> None:
    starts = next_occurrences(EVERY_DAY, time(2, 30), 30, "America/New_York", utc(2026, 3, 7), 3)
    assert starts == [
        utc(2026, 3, 7, 7, 30),  # Sat 02:30 EST
        utc(2026, 3, 8, 7, 30),  # Sun 02:30 does not exist -> 03:30 EDT
        utc(2026, 3, 9, 6, 30),  # Mon 02:30 EDT
    ]


def test_next_occurrences_are_ordered_and_on_the_right_weekdays() -> None:
    starts = next_occurrences([MON, WED, FRI], time(8, 0), 60, "Asia/Tokyo", utc(2026, 1, 1), 9)
    assert starts == sorted(starts)
    assert len(starts) == 9
    assert [s.astimezone(ZoneInfo("Asia/Tokyo")).weekday() for s in starts[:3]] == [FRI, MON, WED]


def test_start_exactly_at_after_is_included() -> None:
    start = utc(2026, 6, 1, 17)  # Monday 18:00 BST
    assert next_occurrences([MON], time(18, 0), 60, "Europe/London", start, 1) == [start]


def test_local_date_ahead_of_utc_date() -> None:
    # 2026-06-01 23:30 UTC is already Tuesday 09:30 in Sydney: Tuesday 10:00 is 30 minutes away.
    after = utc(2026, 6, 1, 23, 30)
    assert next_occurrences([TUE], time(10, 0), 60, "Australia/Sydney", after, 1) == [
        utc(2026, 6, 2, 0, 0)
    ]


def test_no_schedule_has_no_occurrences() -> None:
    assert next_occurrences([], time(10, 0), 60, "UTC", utc(2026, 1, 1), 3) == []
    assert not is_live([], time(10, 0), 60, "UTC", utc(2026, 1, 1))


def test_naive_times_and_bad_weekdays_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrences([MON], time(10, 0), 60, "UTC", datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="weekdays"):
        next_occurrences([7], time(10, 0), 60, "UTC", utc(2026, 1, 1), 1)


@pytest.mark.parametrize(
    ("now", "live"),
    [
        (utc(2026, 3, 8, 22, 59), False),  # one minute before 19:00 EDT
        (utc(2026, 3, 8, 23, 0), True),  # start is inclusive
        (utc(2026, 3, 8, 23, 59), True),
        (utc(2026, 3, 9, 0, 0), False),  # end is exclusive
        # The old (EST) slot is not live any more after the change.
        (utc(2026, 3, 9, 0, 30), False),
    ],
)
def test_is_live_around_spring_forward(now: datetime, live: bool) -> None:
    assert is_live([SUN], time(19, 0), 60, "America/New_York", now) is live


def test_current_start_for_a_meeting_that_crosses_midnight_local() -> None:
    # Saturday 23:30 London (GMT in January), 90 minutes: still live at Sunday 00:45.
    now = utc(2026, 1, 4, 0, 45)
    assert current_start([SAT], time(23, 30), 90, "Europe/London", now) == utc(2026, 1, 3, 23, 30)
    assert current_start([SAT], time(23, 30), 90, "Europe/London", now + timedelta(hours=1)) is None


def test_fall_back_meeting_lasts_its_elapsed_duration() -> None:
    # 01:00 EDT on 2026-11-01 = 05:00 UTC; 120 minutes means until 07:00 UTC (01:00 EST).
    start = utc(2026, 11, 1, 5, 0)
    assert current_start([SUN], time(1, 0), 120, "America/New_York", utc(2026, 11, 1, 6, 59)) == (
        start
    )
    assert not is_live([SUN], time(1, 0), 120, "America/New_York", utc(2026, 11, 1, 7, 0))


def test_stored_forms_round_trip() -> None:
    assert parse_start_time("07:05") == time(7, 5)
    assert parse_weekdays("0,2,4") == {0, 2, 4}
    assert parse_weekdays("") == frozenset()
    assert format_weekdays([4, 0, 2, 2]) == "0,2,4"
