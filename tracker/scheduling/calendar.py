"""The schedule as operators configure it, checked once, and the digest periods it implies.

Pure date arithmetic (no APScheduler): a digest period starts at the last occurrence of its cron
time (``schedule.daily_at`` every day, or on ``schedule.weekly_on``) in ``schedule.timezone``.
Whether a period's digest ran is recorded in the database, never in the scheduler's memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.core.events import format_time
from tracker.errors import ConfigError
from tracker.settings import Settings

CADENCES = ("daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    daily_at: time
    weekly_on: str
    tick_seconds: float
    lease_seconds: float
    instance_lease: float
    batch: int
    retention_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Schedule":
        """Check the schedule.* settings; ConfigError names the first bad key."""
        try:
            tz = ZoneInfo(str(settings["schedule.timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"bad value for schedule.timezone (from {settings.source('schedule.timezone')}): "
                f"{settings['schedule.timezone']!r} is not an IANA time zone such as UTC or Asia/Shanghai"
            ) from None
        match = _TIME_RE.match(str(settings["schedule.daily_at"]).strip())
        if not match:
            raise ConfigError(
                f"bad value for schedule.daily_at (from {settings.source('schedule.daily_at')}): "
                f"{settings['schedule.daily_at']!r} is not a time HH:MM or HH:MM:SS"
            )
        weekly_on = str(settings["schedule.weekly_on"]).strip().lower()[:3]
        if weekly_on not in WEEKDAYS or str(settings["schedule.weekly_on"]).strip().lower() not in _day_names(weekly_on):
            raise ConfigError(
                f"bad value for schedule.weekly_on (from {settings.source('schedule.weekly_on')}): "
                f"{settings['schedule.weekly_on']!r} is not a day mon..sun"
            )
        if float(settings["schedule.tick"]) <= 0:
            raise ConfigError(f"bad value for schedule.tick (from {settings.source('schedule.tick')}): must be above 0")
        return cls(
            tz=tz,
            daily_at=time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)),
            weekly_on=weekly_on,
            tick_seconds=float(settings["schedule.tick"]),
            lease_seconds=float(settings["schedule.lease_seconds"]),
            instance_lease=float(settings["schedule.instance_lease"]),
            batch=int(settings["schedule.batch"]),
            retention_days=int(settings["schedule.retention_days"]),
        )

    def period_start(self, cadence: str, now: datetime) -> datetime:
        """The start (UTC) of the digest period `now` falls in: the last cron time at or before now."""
        local = now.astimezone(self.tz)
        if cadence == "daily":
            start = self._at(local.date())
            return (start if start <= local else self._at(local.date() - timedelta(days=1))).astimezone(timezone.utc)
        if cadence == "weekly":
            back = (local.weekday() - WEEKDAYS.index(self.weekly_on)) % 7
            start = self._at(local.date() - timedelta(days=back))
            if start > local:
                start = self._at(local.date() - timedelta(days=back + 7))
            return start.astimezone(timezone.utc)
        raise ConfigError(f"unknown digest cadence {cadence!r} (daily or weekly)")

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, self.daily_at, tzinfo=self.tz)


def _day_names(short: str) -> set[str]:
    full = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
            "fri": "friday", "sat": "saturday", "sun": "sunday"}
    return {short, full[short]}


def period_key(cadence: str, start: datetime) -> str:
    """The lease name that claims, and then records, one digest period."""
    return f"digest:{cadence}:{format_time(start)}"
