"""Due times of reminders, checked by hand against the clinics' clocks and DST changes.

Europe/Madrid leaves CET (UTC+1) for CEST (UTC+2) at 02:00 on 28 March 2027 and returns at
03:00 on 31 October 2027; America/Toronto leaves EDT (UTC-4) for EST (UTC-5) at 02:00 on
7 November 2027; Asia/Kolkata is UTC+5:30 all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from exoshare.reminders.due import appointment_due_at, local_day, programme_due_at

MADRID = ZoneInfo("Europe/Madrid")
TORONTO = ZoneInfo("America/Toronto")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_day_before_is_the_same_clock_time_across_spring_forward() -> None:
    # Sunday 28 March 10:00 CEST = 08:00 UTC; Saturday 10:00 CET = 09:00 UTC: 23 real hours.
    assert appointment_due_at(utc(2027, 3, 28, 8, 0), 24, MADRID) == utc(2027, 3, 27, 9, 0)


def test_a_day_before_is_the_same_clock_time_across_fall_back() -> None:
    # Sunday 31 October 10:00 CET = 09:00 UTC; Saturday 10:00 CEST = 08:00 UTC: 25 real hours.
    assert appointment_due_at(utc(2027, 10, 31, 9, 0), 24, MADRID) == utc(2027, 10, 30, 8, 0)


def test_without_a_change_in_between_the_lead_is_real_hours() -> None:
    # Monday 29 March 10:00 CEST = 08:00 UTC; Sunday 10:00 is already CEST.
    assert appointment_due_at(utc(2027, 3, 29, 8, 0), 24, MADRID) == utc(2027, 3, 28, 8, 0)
    # Kolkata: 15:30 IST = 10:00 UTC; three days before, same offset.
    assert appointment_due_at(utc(2027, 3, 29, 10, 0), 72, KOLKATA) == utc(2027, 3, 26, 10, 0)


def test_a_reminder_time_the_clock_skips_lands_just_after_the_jump() -> None:
    # 10:00 CEST on 28 March minus 8 h is 02:00, which Madrid skips: the clock reads 03:00
    # CEST then, 01:00 UTC.
    assert appointment_due_at(utc(2027, 3, 28, 8, 0), 8, MADRID) == utc(2027, 3, 28, 1, 0)


def test_the_programme_reminder_follows_the_clinic_morning_through_the_change() -> None:
    # 09:00 in Toronto: EDT (13:00 UTC) on Saturday 6 November, EST (14:00 UTC) on Monday.
    assert programme_due_at(date(2027, 11, 6), 9, TORONTO) == utc(2027, 11, 6, 13, 0)
    assert programme_due_at(date(2027, 11, 8), 9, TORONTO) == utc(2027, 11, 8, 14, 0)
    assert programme_due_at(date(2027, 11, 8), 9, KOLKATA) == utc(2027, 11, 8, 3, 30)


def test_the_local_day_is_the_clinics() -> None:
    # 23:30 UTC on 1 March is already 2 March in Madrid and Kolkata, still 1 March in Toronto.
    moment = utc(2027, 3, 1, 23, 30)
    assert local_day(moment, MADRID) == date(2027, 3, 2)
    assert local_day(moment, KOLKATA) == date(2027, 3, 2)
    assert local_day(moment, TORONTO) == date(2027, 3, 1)
