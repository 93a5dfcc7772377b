"""When a reminder is due: pure date arithmetic on clinic wall clocks (no database, no web).

Lead times are counted on the clinic's wall clock, so "24 hours before" a 10:00 visit is 10:00
the day before even when a daylight-saving change lies between (23 or 25 real hours).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` (aware) as a naive wall-clock time in ``zone``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def from_wall_clock(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``zone`` as an aware UTC moment.

    A time the clock skips (02:30 on a spring-forward night) is read with the offset before the
    change, which lands just after the jump (03:30); a repeated one (autumn) is its first pass.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def appointment_due_at(starts_at: datetime, lead_hours: int, zone: ZoneInfo) -> datetime:
    """When to remind of an appointment starting at ``starts_at``, in UTC.

    >>> madrid = ZoneInfo("Europe/Madrid")
    >>> appointment_due_at(datetime(2027, 3, 28, 8, 0, tzinfo=UTC), 24, madrid)  # 10:00 CEST
    datetime.datetime(2027, 3, 27, 9, 0, tzinfo=datetime.timezone.utc)
    """
    return from_wall_clock(wall_clock(starts_at, zone) - timedelta(hours=lead_hours), zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def programme_due_at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The home-programme reminder of ``day``: ``hour`` o'clock on the clinic's clock, in UTC.

    >>> programme_due_at(date(2027, 11, 8), 9, ZoneInfo("America/Toronto"))
    datetime.datetime(2027, 11, 8, 14, 0, tzinfo=datetime.timezone.utc)
    """
    return from_wall_clock(datetime.combine(day, time(hour)), zone)
