"""Digest schedules as people write them: ``daily 08:00``, ``weekly mon 08:00``, or cron.

A schedule carries its own IANA time zone, so "daily 08:00" in Europe/Berlin stays at 08:00
local time across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.news.errors import NewsError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXAMPLES = (
    "instant, hourly, daily 08:00, weekdays 08:00, weekly mon 08:00, or cron like '0 8 * * 1-5'"
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(NewsError):
    """A schedule or time zone that cannot be used."""


@dataclass(frozen=True)
class Schedule:
    text: str
    timezone: str
    #: post new stories after each poll instead of at set times
    instant: bool
    trigger: CronTrigger | None

    def next_run(self, after: datetime) -> datetime | None:
        """The first run strictly after ``after`` (aware), in UTC; None for instant schedules."""
        if self.trigger is None:
            return None
        # CronTrigger answers the first fire time at or after `now`: step past `after` itself
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        fire = self.trigger.get_next_fire_time(None, start)
        return fire.astimezone(UTC) if fire else None


def zone(name: str) -> ZoneInfo:
    try:
        if len(name) > 100:  # IANA names are short; a long one would reach the file system
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name no file can have
        raise ScheduleError(
            f"{name!r} is not a time zone; use an IANA name like Europe/Berlin or America/New_York"
        ) from None


def _clock(text: str, whole: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if not match:
        raise ScheduleError(f"{whole!r}: {text!r} is not a time like 08:00")
    return int(match.group(1)), int(match.group(2))


def _cron_weekdays(field: str) -> str:
    """Cron numbers weekdays from Sunday = 0 (or 7); APScheduler from Monday = 0: use names."""

    def name(number: str) -> str:
        value = int(number)
        if not 0 <= value <= 7:
            raise ValueError(f"weekday {value} is out of range 0-7")
        return DAYS[(value - 1) % 7]

    parts = []
    for part in field.split(","):
        body, _, step = part.partition("/")
        if re.fullmatch(r"\d+-\d+", body):
            first, last = (int(x) for x in body.split("-"))
            numbers = range(first, last + 1, int(step or 1))
            parts.extend(name(str(n)) for n in numbers)
        elif body.isdigit() and not step:
            parts.append(name(body))
        else:
            parts.append(part)
    return ",".join(dict.fromkeys(parts))


def parse_schedule(text: str, timezone: str = "UTC") -> Schedule:
    """Parse a schedule; raises ScheduleError with a sentence that shows valid forms."""
    tz = zone(timezone)
    words = text.strip().lower().split()
    if not words:
        raise ScheduleError(f"the schedule is empty; use {EXAMPLES}")
    head = words[0]
    cron: dict[str, str] | None = None
    if words == ["instant"]:
        return Schedule(text.strip(), timezone, True, None)
    if words == ["hourly"]:
        cron = {"minute": "0"}
    elif head in ("daily", "weekdays") and len(words) == 2:
        hour, minute = _clock(words[1], text)
        cron = {"hour": str(hour), "minute": str(minute)}
        if head == "weekdays":
            cron["day_of_week"] = "mon-fri"
    elif head == "weekly" and len(words) == 3:
        if words[1][:3] not in DAYS:
            raise ScheduleError(f"{text!r}: {words[1]!r} is not a day (mon, tue, ... sun)")
        hour, minute = _clock(words[2], text)
        cron = {"day_of_week": words[1][:3], "hour": str(hour), "minute": str(minute)}
    elif len(words) == 5:
        try:
            minute, hour, day, month, dow = words
            trigger = CronTrigger(
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=_cron_weekdays(dow),
                timezone=tz,
            )
        except ValueError as exc:
            raise ScheduleError(f"{text!r} is not a valid cron expression ({exc})") from None
        return Schedule(text.strip(), timezone, False, trigger)
    if cron is None:
        raise ScheduleError(f"{text!r} is not a schedule; use {EXAMPLES}")
    return Schedule(text.strip(), timezone, False, CronTrigger(timezone=tz, **cron))
