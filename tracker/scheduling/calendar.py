"""The schedule as operators configure it, checked once, and the digest periods it implies.

Pure date arithmetic (no APScheduler): a digest period starts at the last occurrence of its cron
time (``schedule.daily_at`` every day, or on ``schedule.weekly_on``) in ``schedule.timezone``.
Whether a period's digest ran is recorded in the database, never in the scheduler's memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tracker.core.events import format_time
from tracker.errors import ValidationError
from tracker.settings import WEEKDAYS, Settings, parse_clock_time

CADENCES = ("daily", "weekly")


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
    def from_settings(cls, settings: Settings) -> Schedule:
        """The schedule.* settings (checked when they were loaded), as times and a zone."""
        schedule = settings.schedule
        return cls(
            tz=ZoneInfo(schedule.timezone),
            daily_at=parse_clock_time(schedule.daily_at),
            weekly_on=schedule.weekly_on.lower()[:3],
            tick_seconds=schedule.tick,
            lease_seconds=schedule.lease_seconds,
            instance_lease=schedule.instance_lease,
            batch=schedule.batch,
            retention_days=schedule.retention_days,
        )

    def period_start(self, cadence: str, now: datetime) -> datetime:
        """The start (UTC) of the digest period `now` falls in: the last cron time at or before now."""
        local = now.astimezone(self.tz)
        if cadence == "daily":
            start = self._at(local.date())
            return (start if start <= local else self._at(local.date() - timedelta(days=1))).astimezone(UTC)
        if cadence == "weekly":
            back = (local.weekday() - WEEKDAYS.index(self.weekly_on)) % 7
            start = self._at(local.date() - timedelta(days=back))
            if start > local:
                start = self._at(local.date() - timedelta(days=back + 7))
            return start.astimezone(UTC)
        raise ValidationError(f"unknown digest cadence {cadence!r} (daily or weekly)")

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, self.daily_at, tzinfo=self.tz)


def period_key(cadence: str, start: datetime) -> str:
    """The lease name that claims, and then records, one digest period."""
    return f"digest:{cadence}:{format_time(start)}"
