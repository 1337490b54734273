"""Digest schedules as admins write them, in their own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.news.schedules import ScheduleError, parse_schedule

FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("hourly", "UTC", datetime(2026, 11, 27, 13, 0, tzinfo=UTC)),
        ("daily 08:00", "UTC", datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
        ("daily 08:00", "Europe/Berlin", datetime(2026, 11, 28, 7, 0, tzinfo=UTC)),
        ("weekdays 08:00", "UTC", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("weekly mon 08:00", "UTC", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        ("0 8 * * 1-5", "UTC", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),  # cron: Mon-Fri
        ("30 9 * * 0", "UTC", datetime(2026, 11, 29, 9, 30, tzinfo=UTC)),  # cron: Sunday
        ("daily 12:00", "UTC", datetime(2026, 11, 28, 12, 0, tzinfo=UTC)),  # strictly after
    ],
)
def test_next_run(text, zone, expected) -> None:
    assert parse_schedule(text, zone).next_run(FRIDAY_NOON) == expected


def test_instant_has_no_clock_time() -> None:
    schedule = parse_schedule("instant")
    assert schedule.instant and schedule.next_run(FRIDAY_NOON) is None


@pytest.mark.parametrize(
    ("text", "zone", "fragment"),
    [
        ("daily 25:00", "UTC", "not a time"),
        ("weekly someday 08:00", "UTC", "not a day"),
        ("every now and then", "UTC", "not a schedule"),
        ("61 * * * *", "UTC", "cron"),
        ("daily 08:00", "Mars/Olympus", "time zone"),
        ("", "UTC", "empty"),
    ],
)
def test_bad_schedules_say_what_is_wrong(text, zone, fragment) -> None:
    with pytest.raises(ScheduleError, match=fragment):
        parse_schedule(text, zone)
