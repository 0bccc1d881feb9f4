"""The public directory on a real server: listed meetings only, filters, "live now", the
caller's time zone, and next occurrences across daylight-saving changes in two zones."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.meetings.occurrences import end_occurrence, start_occurrence
from app.meetings.service import STALE_OCCURRENCE
from tests.support.accounts import Haven, haven_server

MON, TUE, SUN = 0, 1, 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def haven(settings: Settings) -> AsyncIterator[Haven]:
    async with haven_server(settings) as running:
        yield running


@pytest.fixture
async def owner_id(haven: Haven) -> str:
    return await haven.add_facilitator("olive", display_name="Olive")


@pytest.fixture
async def anonymous(haven: Haven) -> AsyncIterator[httpx.AsyncClient]:
    async with haven.client() as client:
        yield client


async def _directory(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/meetings", params=params)
    assert response.status_code == 200, response.text
    meetings: list[dict[str, Any]] = response.json()["meetings"]
    return meetings


def _titles(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["title"] for entry in entries]


async def test_listed_meetings_sorted_by_next_start_with_filters(
    haven: Haven, owner_id: str, anonymous: httpx.AsyncClient
) -> None:
    haven.clock.set(utc(2026, 11, 23, 12, 0))  # Monday noon UTC (GMT in London, EST in NY)
    add = haven.add_meeting
    await add(owner_id, title="London 12-step", format="12-step", language="en",
              weekdays=[MON], start_time="19:00", timezone="Europe/London")  # fmt: skip
    await add(owner_id, title="NY SMART", format="smart-recovery", language="es",
              weekdays=[MON], start_time="13:00", timezone="America/New_York")  # fmt: skip
    await add(owner_id, title="Tuesday share", format="open-share", language="en-GB",
              weekdays=[TUE], start_time="09:00", timezone="UTC")  # fmt: skip
    unlisted = await add(owner_id, title="Mentoring", format="peer-mentoring",
                         weekdays=[MON], start_time="12:30")  # fmt: skip
    await add(owner_id, title="Unscheduled", language="fr")
    await add(owner_id, title="On now", language="en", weekdays=[MON], start_time="11:30",
              duration_min=60, timezone="UTC", passcode="serenity", lobby=True)  # fmt: skip

    entries = await _directory(anonymous)

    assert _titles(entries) == [
        "On now",  # started 11:30, live
        "NY SMART",  # 13:00 EST = 18:00 UTC
        "London 12-step",  # 19:00 GMT = 19:00 UTC
        "Tuesday share",
        "Unscheduled",  # no next occurrence: last
    ]
    on_now, smart = entries[0], entries[1]
    assert on_now["next"] == {
        "start_utc": iso(utc(2026, 11, 23, 11, 30)),
        "end_utc": iso(utc(2026, 11, 23, 12, 30)),
        "start_local": iso(utc(2026, 11, 23, 11, 30)),
        "live": True,
    }
    assert (on_now["has_passcode"], on_now["lobby"], on_now["host"]) == (True, True, "Olive")
    assert smart["next"]["start_utc"] == iso(utc(2026, 11, 23, 18, 0))
    assert smart["next"]["live"] is False
    assert entries[-1]["next"] is None
    # Nothing about the facilitator but the display name; no passcode material.
    assert set(on_now) == {
        "id", "title", "format", "language", "duration_min", "next", "has_passcode", "lobby",
        "host",
    }  # fmt: skip
    assert "olive" not in str(entries) and "serenity" not in str(entries)

    assert _titles(await _directory(anonymous, format="12-step")) == ["London 12-step"]
    assert _titles(await _directory(anonymous, language="en")) == [
        "On now",
        "London 12-step",
        "Tuesday share",  # en-GB is English too
    ]
    assert _titles(await _directory(anonymous, language="en-GB")) == ["Tuesday share"]
    assert _titles(await _directory(anonymous, live="true")) == ["On now"]
    assert _titles(await _directory(anonymous, format="smart-recovery", live="true")) == []

    # Unlisted: absent from the directory, yet reachable by its link.
    assert unlisted not in {entry["id"] for entry in entries}
    assert (await anonymous.get(f"/api/meetings/{unlisted}")).status_code == 200


async def test_start_local_is_in_the_zone_the_client_names(
    haven: Haven, owner_id: str, anonymous: httpx.AsyncClient
) -> None:
    haven.clock.set(utc(2026, 11, 23, 12, 0))
    await haven.add_meeting(owner_id, weekdays=[MON], start_time="19:00", timezone="UTC")

    (tokyo,) = await _directory(anonymous, tz="Asia/Tokyo")
    (kolkata,) = await _directory(anonymous, tz="Asia/Kolkata")

    assert tokyo["next"]["start_local"] == "2026-11-24T04:00:00+09:00"
    assert kolkata["next"]["start_local"] == "2026-11-24T00:30:00+05:30"
    response = await anonymous.get("/api/meetings", params={"tz": "Nowhere/Land"})
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "unknown_timezone"
    assert (await anonymous.get("/api/meetings", params={"format": "poker"})).status_code == 422


# Sunday 19:00 local in New York and in London, seen from both zones, on both sides of each
# daylight-saving change of 2026 (US: Mar 8 / Nov 1; UK: Mar 29 / Oct 25).
DST_CASES = [
    # (clock, NY start UTC, London start UTC, NY start as seen in London)
    (utc(2026, 3, 1), utc(2026, 3, 2, 0), utc(2026, 3, 1, 19), "2026-03-02T00:00:00+00:00"),
    (utc(2026, 3, 7), utc(2026, 3, 8, 23), utc(2026, 3, 8, 19), "2026-03-08T23:00:00+00:00"),
    (utc(2026, 3, 28), utc(2026, 3, 29, 23), utc(2026, 3, 29, 18), "2026-03-30T00:00:00+01:00"),
    (utc(2026, 10, 24), utc(2026, 10, 25, 23), utc(2026, 10, 25, 19), "2026-10-25T23:00:00+00:00"),
    (utc(2026, 10, 31), utc(2026, 11, 2, 0), utc(2026, 11, 1, 19), "2026-11-02T00:00:00+00:00"),
]


async def test_next_occurrence_across_dst_in_two_time_zones(
    haven: Haven, owner_id: str, anonymous: httpx.AsyncClient
) -> None:
    for zone in ("America/New_York", "Europe/London"):
        await haven.add_meeting(
            owner_id, title=zone, weekdays=[SUN], start_time="19:00", timezone=zone
        )

    for clock, ny_start, london_start, ny_in_london in DST_CASES:
        haven.clock.set(clock)
        entries = {e["title"]: e["next"] for e in await _directory(anonymous, tz="Europe/London")}
        assert entries["America/New_York"]["start_utc"] == iso(ny_start), clock
        assert entries["Europe/London"]["start_utc"] == iso(london_start), clock
        seen_in_london = datetime.fromisoformat(entries["America/New_York"]["start_local"])
        expected = datetime.fromisoformat(ny_in_london)
        assert (seen_in_london, seen_in_london.utcoffset()) == (expected, expected.utcoffset())
        # Always 19:00 where the meeting is held.
        local = datetime.fromisoformat(entries["Europe/London"]["start_local"])
        assert (local.date(), local.hour, local.minute) == (london_start.date(), 19, 0)


async def test_a_running_occurrence_makes_a_meeting_live(
    haven: Haven, owner_id: str, anonymous: httpx.AsyncClient
) -> None:
    haven.clock.set(utc(2026, 11, 23, 12, 0))
    meeting_id = await haven.add_meeting(owner_id, title="Ad hoc", duration_min=60)
    assert _titles(await _directory(anonymous, live="true")) == []

    maker = haven.server.app.state.sessionmaker
    async with maker() as db:
        occurrence = await start_occurrence(db, meeting_id, haven.clock.now)
        await db.commit()
    haven.clock.advance(minutes=90)  # running past its scheduled length: still live

    (entry,) = await _directory(anonymous, live="true")
    detail = (await anonymous.get(f"/api/meetings/{meeting_id}")).json()

    assert entry["next"]["live"] is True
    assert entry["next"]["start_utc"] == iso(utc(2026, 11, 23, 12, 0))
    assert entry["next"]["end_utc"] == iso(haven.clock.now)
    assert detail["next"]["live"] is True
    async with maker() as db:
        await end_occurrence(db, occurrence, haven.clock.now, peak=7)
        await db.commit()
    assert await _directory(anonymous, live="true") == []


async def test_an_occurrence_left_open_by_a_crash_goes_stale(
    haven: Haven, owner_id: str, anonymous: httpx.AsyncClient
) -> None:
    meeting_id = await haven.add_meeting(owner_id, title="Crashed")
    async with haven.server.app.state.sessionmaker() as db:
        await start_occurrence(db, meeting_id, haven.clock.now)
        await db.commit()
    haven.clock.advance(seconds=STALE_OCCURRENCE.total_seconds() - 1)
    assert _titles(await _directory(anonymous, live="true")) == ["Crashed"]
    haven.clock.advance(seconds=1)
    assert await _directory(anonymous, live="true") == []
